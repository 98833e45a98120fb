#!/bin/sh
# compare.sh: the Hopper check of the fidelity issue, rebuilt from metrics
# committed in this repository. Run from the repository root:
#
#     sh docs/results/fidelity/compare.sh [RUNS] > docs/results/fidelity/table.md
#
# RUNS, if given, is the --out directory of the no-restore sweep (e.g.
# ../runs/restore-ab), whose runs' metrics are first copied into
# docs/results/fidelity/runs.
#
# Sets, each Hopper-v4 in the paper's configuration, seeds 0 and 1:
#   before      the runs made before the fidelity changes (members kept their
#               last retrain epoch, early stop after 5 epochs without gain):
#               docs/results/hopper-25k, 20 learning epochs
#   after       the faithful trainer's long runs (best-epoch restore,
#               patience 6): docs/results/paper-cpu/runs/hopper
#   no-restore  the faithful trainer with --ablation no-restore (everything
#               as in after but the restore): docs/results/fidelity/runs,
#               when its metrics are there
# It writes fidelity_Hopper-v4.png and .svg here and the table to stdout.
set -eu
here=docs/results/fidelity
if [ $# -gt 0 ]; then sh docs/results/copy-runs.sh "$1" "$here/runs"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in 0 1; do
	d=$tmp/before/Hopper-v4/none/seed_$s
	mkdir -p "$d"
	cp "docs/results/hopper-25k/mbpo_seed${s}_config.json" "$d/config.json"
	cp "docs/results/hopper-25k/mbpo_seed${s}_metrics.csv" "$d/metrics.csv"
done
sets="before=$tmp/before after=docs/results/paper-cpu/runs/hopper"
[ -d "$here/runs" ] && sets="$sets no-restore=$here/runs"
# shellcheck disable=SC2086 # the sets are words
go run docs/results/compare.go -out "$here" -upto 25 -name fidelity_Hopper-v4 -title "Hopper-v4: the fidelity check" $sets
