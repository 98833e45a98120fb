#!/bin/sh
# copy-runs.sh SRC DST: copies the record of every run directory under SRC
# (config.json, metrics.jsonl, metrics.csv: no checkpoints) to the same
# place under DST, so a run's curve is committed even if the machine that
# trains it is not kept. The results directories' update scripts call it.
# A run whose record under DST holds more rows than SRC's (a run started over
# after its machine was lost, not yet as far as the committed one) is left as
# it is, with a note on stderr.
set -eu
src=$1
dst=$2
[ -d "$src" ] || { echo "copy-runs.sh: no run directories at $src" >&2; exit 1; }
find "$src" -name config.json | while read -r cfg; do
	dir=$(dirname "$cfg")
	rel=${dir#"$src"/}
	if [ -f "$dst/$rel/metrics.jsonl" ] && [ -f "$dir/metrics.jsonl" ] &&
		[ "$(wc -l <"$dst/$rel/metrics.jsonl")" -gt "$(wc -l <"$dir/metrics.jsonl")" ]; then
		echo "copy-runs.sh: $rel: the record in $dst is further than the run ($(wc -l <"$dst/$rel/metrics.jsonl") rows against $(wc -l <"$dir/metrics.jsonl")): left as it is" >&2
		continue
	fi
	mkdir -p "$dst/$rel"
	for f in config.json metrics.jsonl metrics.csv; do
		if [ -f "$dir/$f" ]; then cp "$dir/$f" "$dst/$rel/$f"; fi
	done
done
