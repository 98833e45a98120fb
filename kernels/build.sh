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
  "$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_80 -O3 \
    -Wall -Werror -S -o "$out/$name.ptx" "$src"
done
