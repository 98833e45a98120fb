#!/bin/sh
# compare.sh: the Hopper comparison of issue 18, bf16 against fp32, rebuilt
# from metrics committed in this repository. Run from the repository root:
#
#     sh docs/results/bf16/compare.sh [RUNS] > docs/results/bf16/table.md
#
# RUNS, if given, is the --out directory of the bf16 sweep (e.g. ../runs/bf16),
# whose runs' metrics are first copied into docs/results/bf16/runs.
#
# Sets, each Hopper-v4 in the paper's configuration, seeds 0 and 1, to 25
# learning epochs:
#   fp32   the faithful trainer's long runs (docs/results/paper-cpu/runs/hopper)
#   bf16   the same with --precision bf16 (docs/results/bf16/runs)
# It writes bf16_Hopper-v4.png and .svg here and the table to stdout.
set -eu
here=docs/results/bf16
if [ $# -gt 0 ]; then sh docs/results/copy-runs.sh "$1" "$here/runs"; fi
go run docs/results/compare.go -out "$here" -upto 25 -name bf16_Hopper-v4 -title "Hopper-v4: bf16 against fp32" \
	-windows 1-10,11-20,21-25 -at 10,20,25 fp32=docs/results/paper-cpu/runs/hopper bf16="$here/runs"
