#!/usr/bin/env bash
# bundle.sh: builds the device bundle (`make device-bundle`): everything a GPU
# machine with an NVIDIA driver but no Go and no CUDA toolkit needs to check
# and measure the GPU runtime, in one folder small enough to carry.
#
#   scripts/device/bundle.sh DIR
#
# DIR/run.sh         the one script to run there (scripts/device/run.sh)
# DIR/payload.tar.gz bin/mbpo, bin/gpu.test, bin/kernels.test, bin/cuda.test
#                    (the GPU engine's tests; all stripped),
#                    lib/ (the shared libraries they load that such a machine
#                    may lack: MuJoCo and its dependencies, OpenBLAS, which the
#                    CPU engine opens at run time, libgfortran, libstdc++ ...;
#                    never glibc's own libraries nor libcuda), the PyTorch
#                    peers torch_peer.py, torch_rollout.py and torch_sac.py
#                    and peer.py, the module they share, and summary.py
#                    (run.sh's summary)
set -euo pipefail
if (($# != 1)); then
  echo "usage: $0 DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1
go=${GO:-go}
rm -rf "$dir"
payload="$dir/payload"
mkdir -p "$payload/bin" "$payload/lib"

cd "$root"
flags=(-trimpath -ldflags=-s\ -w)
"$go" build "${flags[@]}" -o "$payload/bin/mbpo" ./cmd/mbpo
"$go" test -c "${flags[@]}" -o "$payload/bin/gpu.test" ./gpu
"$go" test -c "${flags[@]}" -o "$payload/bin/kernels.test" ./kernels
"$go" test -c "${flags[@]}" -o "$payload/bin/cuda.test" ./engine/cuda
cp bench/peer.py bench/torch_peer.py bench/torch_rollout.py bench/torch_sac.py scripts/device/summary.py "$payload/"

# Libraries opened with dlopen, which ldd cannot see.
dlopened=(libopenblas.so.0)

# glibc's libraries come from the machine itself (it has a newer glibc), and
# libcuda from its driver.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libcuda\.so)'

# copy_lib NAME PATH copies PATH as lib/NAME, with what it needs in turn.
copy_lib() {
  local name=$1 path=$2
  [[ $name =~ $skip ]] && return 0
  [[ -e "$payload/lib/$name" ]] && return 0
  cp -L "$path" "$payload/lib/$name"
  copy_deps "$path"
}

# copy_deps FILE copies the libraries ldd resolves for FILE.
copy_deps() {
  local line name path
  while read -r line; do
    if [[ $line == *"not found"* ]]; then
      echo "bundle: $1 needs ${line%% *}, which is not installed here" >&2
      exit 1
    fi
    [[ $line =~ ^([^[:space:]]+)[[:space:]]+=\>[[:space:]]+(/[^[:space:]]+) ]] || continue
    name=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]}
    copy_lib "$name" "$path"
  done < <(ldd "$1")
}

for bin in "$payload"/bin/*; do
  copy_deps "$bin"
done
for name in "${dlopened[@]}"; do
  # awk reads to the end: an early exit would kill ldconfig with SIGPIPE,
  # which pipefail turns into a failed build.
  path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ && !found { print $NF; found = 1 }')
  if [[ -z $path ]]; then
    echo "bundle: $name is not installed here (scripts/deps.sh installs it)" >&2
    exit 1
  fi
  copy_lib "$name" "$path"
done

tar -C "$dir" -czf "$dir/payload.tar.gz" payload
rm -rf "$payload"
cp scripts/device/run.sh "$dir/run.sh"
chmod +x "$dir/run.sh"

bytes=$(du -sb "$dir" | cut -f1)
echo "bundle: $dir is $((bytes / 1024 / 1024)) MiB ($(tar -tzf "$dir/payload.tar.gz" | grep -c '/lib/.') libraries)"
if ((bytes > 48 * 1024 * 1024)); then
  echo "bundle: $dir is over 48 MiB; with the working tree it may not fit the 64 MiB a device call carries" >&2
  exit 1
fi
