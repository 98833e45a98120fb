#!/usr/bin/env bash
# Installs what building and testing mbpo needs, and nothing when it is all present.
# Debian packages only (apt-get), with sudo when not root. Go itself must already be
# installed (Go 1.26 or newer; https://go.dev/doc/install).
#
#   scripts/deps.sh [PACKAGE...]   also the Debian packages named (make bench-peers: python3-torch)
set -euo pipefail
# libosmesa6: off-screen rendering of videos (mbpo eval --video); python3-numpy
# and python3-onnx: the export tests read the exported files with them;
# libdnnl-dev: oneDNN's header for the build and its library for the bf16
# products of --precision bf16 (the CPU engine opens it at run time).
pkgs=(libmujoco-dev libopenblas-dev libdnnl-dev clang pkg-config libosmesa6 python3-numpy python3-onnx "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]} from Debian"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin "$HOME/go/bin"; do [ -x "$d/go" ] && { echo "deps: go is in $d but not on PATH; add it: export PATH=\$PATH:$d" >&2; exit 1; }; done
  echo "deps: Go 1.26 or newer is needed and was not found; install it from https://go.dev/doc/install" >&2
  exit 1
fi
