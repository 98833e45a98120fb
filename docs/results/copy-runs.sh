#!/bin/sh
# copy-runs.sh SRC DST: copies the record of every run directory under SRC
# (config.json, metrics.jsonl, metrics.csv: no checkpoints) to the same
# place under DST, so a run's curve is committed even if the machine that
# trains it is not kept. The results directories' update scripts call it.
set -eu
src=$1
dst=$2
[ -d "$src" ] || { echo "copy-runs.sh: no run directories at $src" >&2; exit 1; }
find "$src" -name config.json | while read -r cfg; do
	dir=$(dirname "$cfg")
	rel=${dir#"$src"/}
	mkdir -p "$dst/$rel"
	for f in config.json metrics.jsonl metrics.csv; do
		if [ -f "$dir/$f" ]; then cp "$dir/$f" "$dst/$rel/$f"; fi
	done
done
