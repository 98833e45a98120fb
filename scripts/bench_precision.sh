#!/usr/bin/env bash
# bench_precision.sh: fp32 against bf16 (--precision) on this machine, side by
# side: mbpo bench sac, model-train, rollout and train in both precisions,
# interleaved (fp32, bf16, fp32, bf16, ...) so that a change of load hits both
# alike, and Debian's PyTorch (python3-torch) doing the same SAC update in fp32
# and under bf16 autocast (bench/torch_sac.py). Each JSON result, the load
# average before each run and a summary go to OUT (runs/bench-precision).
#
#   MBPO=bin/mbpo  OUT=dir  REPS=2 (pairs of each benchmark)  THREADS=0 (all)
#   TRAIN=1 (bench train, the longest, once per precision; 0 skips it)
#
# Stop other work on the machine first: every figure is a rate of its cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mbpo=${MBPO:-bin/mbpo}
out=${OUT:-runs/bench-precision}
reps=${REPS:-2}
threads=${THREADS:-0}
train=${TRAIN:-1}
mkdir -p "$out"
py=""
for p in ${PEER_PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done

log() { echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $*" | tee -a "$out/log.txt"; }
common=(--device cpu --threads "$threads" --env Hopper-v4 --log-level warn)

log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); mbpo $mbpo"
for rep in $(seq 1 "$reps"); do
  for p in fp32 bf16; do
    log "bench sac --precision $p (rep $rep)"
    "$mbpo" bench sac "${common[@]}" --precision "$p" --updates 1000 --json "$out/sac_${p}_$rep.json" >>"$out/log.txt"
  done
done
for rep in $(seq 1 "$reps"); do
  for p in fp32 bf16; do
    log "bench model-train --precision $p (rep $rep)"
    "$mbpo" bench model-train "${common[@]}" --precision "$p" --rows 50000 --max-epochs 5 --json "$out/model_${p}_$rep.json" >>"$out/log.txt"
  done
done
for rep in $(seq 1 "$reps"); do
  for p in fp32 bf16; do
    log "bench rollout --precision $p (rep $rep)"
    "$mbpo" bench rollout "${common[@]}" --precision "$p" --batch 100000 --k 5 --rounds 3 --json "$out/rollout_${p}_$rep.json" >>"$out/log.txt"
  done
done
if [ -n "$py" ]; then
  for t in 1 2; do
    for ac in none bf16; do
      log "torch_sac.py --threads $t --autocast $ac"
      "$py" bench/torch_sac.py --device cpu --threads "$t" --obs 11 --act 3 --updates 300 --autocast "$ac" \
        --json "$out/torch_sac_${ac}_t$t.json" >/dev/null
    done
  done
else
  log "no python3 with PyTorch: the PyTorch peer is skipped (apt-get install python3-torch)"
fi
if [ "$train" = 1 ]; then
  for p in fp32 bf16; do
    log "bench train --precision $p --real-steps 100000 --k 10"
    "$mbpo" bench train --device cpu --threads "$threads" --env Hopper-v4 --real-steps 100000 --k 10 --precision "$p" \
      --log-level warn | tee "$out/train_$p.txt" >>"$out/log.txt"
  done
fi
log "done"
