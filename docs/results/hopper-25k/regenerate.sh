#!/bin/sh
# regenerate.sh: rebuilds this directory's report (report.md, curves_Hopper-v4
# and time_Hopper-v4, PNG and SVG) from the metrics committed here, with
# mbpo report, on the paper's axis (timesteps: env steps after the 5,000
# random ones). Run from the repository root:
#
#     sh docs/results/hopper-25k/regenerate.sh
#
# The runs were made as runs/hopper25k/Hopper-v4/{none,sac}/seed_S (the
# commands are in README.md, Results); their metrics.csv and the MBPO runs'
# config.json are committed here as {mbpo,sac}_seedS_metrics.csv and
# mbpo_seedS_config.json. This script lays them out again as that tree in a
# temporary directory named hopper25k, so report.md names the runs as they
# were (Hopper-v4/none/seed_0, ...), and reports on it.
set -eu
here=docs/results/hopper-25k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/hopper25k

# col FILE NAME: the 1-based column of NAME in the CSV header of FILE.
col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }

for s in 0 1; do
	d=$root/Hopper-v4/none/seed_$s
	mkdir -p "$d"
	cp "$here/mbpo_seed${s}_config.json" "$d/config.json"
	cp "$here/mbpo_seed${s}_metrics.csv" "$d/metrics.csv"

	# The SAC runs' own config.json was not committed. Theirs is the MBPO
	# run's with what `--algo sac --threads 1` changes: the algorithm, G 1
	# and real ratio 1 (Config.Normalize) and one thread. Of it the report
	# uses init_steps, for the axis; that the SAC runs too took 5,000 random
	# steps first, their metrics show: no SAC update before env step 5,000,
	# 1,000 by 6,000. Checked here.
	d=$root/Hopper-v4/sac/seed_$s
	mkdir -p "$d"
	csv=$here/sac_seed${s}_metrics.csv
	e=$(col "$csv" env_steps)
	u=$(col "$csv" sac/updates)
	awk -F, -v e="$e" -v u="$u" 'NR > 1 && ($e <= 5000) != ($u == 0) { bad = 1 } END { exit bad }' "$csv" || {
		echo "$csv: SAC updates do not start after env step 5,000" >&2
		exit 1
	}
	sed -e 's/"algo": "mbpo"/"algo": "sac"/' -e 's/"G": 20,/"G": 1,/' \
		-e 's/"real_ratio": 0.05,/"real_ratio": 1,/' -e 's/"threads": 0,/"threads": 1,/' \
		"$here/mbpo_seed${s}_config.json" >"$d/config.json"
	[ "$(grep -c -e '"algo": "sac"' -e '"G": 1,' -e '"real_ratio": 1,' -e '"threads": 1,' "$d/config.json")" = 4 ] || {
		echo "$d/config.json: the SAC settings were not all set" >&2
		exit 1
	}
	cp "$csv" "$d/metrics.csv"
done

go run ./cmd/mbpo report --out "$here" "$root" >/dev/null
