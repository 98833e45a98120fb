#!/usr/bin/env bash
# build.sh: compiles CUDA C++ kernel sources to PTX with Debian's clang, with
# no CUDA toolkit (no CUDA headers, no libdevice). Used by `make kernels` and by
# the test that checks the committed PTX is up to date.
#
#   kernels/build.sh OUTDIR FILE.cu...   writes OUTDIR/FILE.ptx for each FILE.cu,
#                                        and clang's version to OUTDIR/clang-version.txt
#
# sm_80 PTX (ISA 7.0) runs on Ampere and, JIT-compiled by the driver at load,
# on Hopper. CLANG may name another clang binary.
#
# -ffp-contract=on: clang's CUDA default (fast) fuses products into sums
# across statements and ignores `#pragma clang fp contract(off)` (clang 14 has
# no fast-honor-pragmas), which terminal.h uses to round the termination rules
# as Go does; with "on" only a product and a sum in one expression fuse, and
# the rest comes out as mul.rn/add.rn, which ptxas does not fuse either
# (terminal_ptx_test.go checks the rules).
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 OUTDIR FILE.cu..." >&2
  exit 2
fi
out=$1
shift
clang=${CLANG:-clang}
mkdir -p "$out"
"$clang" --version | head -n 1 >"$out/clang-version.txt"
for src in "$@"; do
  name=$(basename "$src" .cu)
  "$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_80 -O3 -ffp-contract=on \
    -Wall -Werror -S -o "$out/$name.ptx" "$src"
done
