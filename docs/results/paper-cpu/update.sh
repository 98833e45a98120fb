#!/bin/sh
# update.sh: copies the metrics of the long runs of the learning-evidence
# issue (run directories under RUNS, default ../runs/paper-cpu, one mbpo
# sweep per environment group, e.g. RUNS/hopper/Hopper-v4/none/seed_0) into
# docs/results/paper-cpu/runs/ (config.json, metrics.jsonl, metrics.csv; a
# record further than its run, one started over, is kept), packs each run
# that has a checkpoint into docs/results/paper-cpu/packs/ (mbpo pack: the
# checkpoint less the model buffer, 15-30 MB a run) and rebuilds the report
# here with mbpo report. Run from the repository root before every stop, so a run's curve is
# committed, and the run can go on, even if the machine is not kept:
#
#     sh docs/results/paper-cpu/update.sh [RUNS]
#
# PACK=0 leaves the checkpoints out. The runs themselves are resumed by
# re-running their sweep command (the commands are in
# docs/results/paper-cpu/README.md); on a new machine, first copy a packed
# run back: cp -r docs/results/paper-cpu/packs/NAME ../runs/paper-cpu/.
set -eu
runs=${1:-../runs/paper-cpu}
here=docs/results/paper-cpu
sh docs/results/copy-runs.sh "$runs" "$here/runs"
if [ "${PACK:-1}" = 1 ]; then
	go run ./cmd/mbpo pack "$runs" "$here/packs" || echo "update.sh: not every run was packed (above)" >&2
fi
go run ./cmd/mbpo report --out "$here" "$here/runs" >/dev/null
echo "update.sh: report in $here/report.md"
