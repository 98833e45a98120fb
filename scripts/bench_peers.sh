#!/usr/bin/env bash
# bench_peers.sh: `make bench-peers`. The PyTorch peers (bench/torch_sac.py,
# bench/torch_rollout.py) on the CPU beside the same benchmarks of mbpo's CPU
# engine, each with the same thread count, and the ratios (bench/ratios.py).
# PyTorch comes from Debian (python3-torch, 1.13, CPU only), installed by
# scripts/deps.sh when missing; PEER_PYTHON names another interpreter with
# PyTorch. Results go to PEER_OUT (runs/bench-peers).
#
#   PEER_THREADS        threads for both sides (1)
#   PEER_SAC_UPDATES    timed SAC updates (300)
#   PEER_ROLLOUT_BATCH  rollouts per round (10000), of PEER_ROLLOUT_K steps (5)
#   PEER_ROLLOUT_REPS   timed rounds (3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
threads=${PEER_THREADS:-1}
updates=${PEER_SAC_UPDATES:-300}
batch=${PEER_ROLLOUT_BATCH:-10000}
k=${PEER_ROLLOUT_K:-5}
reps=${PEER_ROLLOUT_REPS:-3}
out=${PEER_OUT:-runs/bench-peers}
mbpo=${MBPO:-bin/mbpo}

# A python3 with PyTorch: PEER_PYTHON, else python3 on PATH, else Debian's
# (which a python3 of its own on PATH, pyenv's say, hides).
find_python() {
  local p
  for p in ${PEER_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
if ! py=$(find_python); then
  ./scripts/deps.sh python3-torch
  py=$(find_python) || { echo "bench-peers: no python3 with PyTorch, even after installing python3-torch" >&2; exit 1; }
fi
mkdir -p "$out"
echo "bench-peers: $threads thread(s) each; PyTorch $("$py" -c 'import torch; print(torch.__version__)') from $py; results in $out"
echo "bench-peers: load average now $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other load skews both sides)"

set -x
"$mbpo" bench sac --device cpu --threads "$threads" --env Hopper-v4 --updates "$updates" --json "$out/mbpo_sac.json" >/dev/null
"$py" bench/torch_sac.py --device cpu --threads "$threads" --obs 11 --act 3 --updates "$updates" --json "$out/torch_sac.json" >/dev/null
"$mbpo" bench rollout --device cpu --threads "$threads" --env Hopper-v4 --batch "$batch" --k "$k" --rounds "$reps" --json "$out/mbpo_rollout.json" >/dev/null
"$py" bench/torch_rollout.py --device cpu --threads "$threads" --obs 11 --act 3 --term hopper --batch "$batch" --k "$k" --reps "$reps" \
  --json "$out/torch_rollout.json" >/dev/null
{ set +x; } 2>/dev/null
echo
"$py" bench/ratios.py sac "$out/mbpo_sac.json" "$out/torch_sac.json" rollout "$out/mbpo_rollout.json" "$out/torch_rollout.json" |
  tee "$out/ratios.txt"
