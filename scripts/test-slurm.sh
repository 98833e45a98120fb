#!/usr/bin/env bash
# test-slurm.sh: the Slurm job array of `mbpo sweep --emit slurm`, run on a real
# Slurm. It starts a one-node cluster on this machine (munged, slurmctld and
# slurmd from Debian's munge and slurm-wlm, with a generated slurm.conf and
# every file in a temporary folder, on ports of their own), then:
#
#   1. submits the array of a tiny grid (InvertedPendulum, 2 seeds, 600 steps),
#      waits, checks that every task completed, that the cells are finished
#      (the same sweep run here has nothing left to do), that they equal a local
#      sweep of the same grid (every metric but times) and that mbpo report
#      reads them;
#   2. submits a one-cell grid (80,000 steps, about a minute: a small real
#      buffer keeps each step's cost flat) emitted with
#      --time 1: Slurm sends the SIGTERM of the script's --signal=B:TERM@300
#      (300 s before a limit of 60 s: at slurmctld's first time-limit check
#      after the start, within 30 s), the cell saves a checkpoint and exits 3
#      (task FAILED, exit 3); resubmitted with sbatch --time=20, it resumes from
#      that checkpoint and finishes all 160 epochs.
#
# It stops every daemon it started, by the pid each wrote, and removes its
# folder; a process left behind is a failure. It needs root (the daemons run
# as root) and installs slurm-wlm and munge from Debian when missing, without
# letting their packages start the system's own daemons.
#
#   make test-slurm            (or: MBPO=bin/mbpo scripts/test-slurm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "test-slurm: $*"; }
fail() { echo "test-slurm: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root: it starts munged, slurmctld and slurmd (run it as root, e.g. sudo make test-slurm)"
MBPO=$(realpath "${MBPO:-bin/mbpo}")
[ -x "$MBPO" ] || fail "no mbpo binary at $MBPO: run make build first"

# --- Debian's Slurm and MUNGE, installed without starting their services.
missing=()
for p in slurm-wlm munge python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian"
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then # keep the packages from starting the system's daemons
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard"
    chmod 755 "$guard"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$guard" ] || rm -f "$guard"
fi

# --- The cluster's folder and the cleanup that leaves nothing behind.
T=$(mktemp -d /tmp/mbpo-slurm.XXXXXX)
chmod 755 "$T"
jobs_submitted=()
stop_pid() { # stop_pid NAME PIDFILE: TERM, then KILL after 20 s
  local name=$1 pidfile=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "$name ($pid) still running after 20 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  set +e
  if [ -s "$T/slurmctld.pid" ] && ((${#jobs_submitted[@]})); then
    scancel "${jobs_submitted[@]}" 2>/dev/null
    for _ in $(seq 60); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
  fi
  if ((status != 0)); then
    for f in "$T"/*.log "$T"/munge/munged.log; do
      [ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 25 "$f"; }
    done
    for f in "$T"/*/logs/*.log; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
    done
  fi
  stop_pid slurmd "$T/slurmd.pid"
  stop_pid slurmctld "$T/slurmctld.pid"
  stop_pid munged "$T/munge/munged.pid"
  # Anything still running with the folder in its command line (a job's
  # mbpo, a daemon) is a failure. Read with builtins, so that no process of
  # this check has the folder in its own command line.
  local left="" p cmd
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    [[ $cmd == *"$T"* ]] && left+=" ${p#/proc/} ($cmd)"
  done
  if [ -n "$left" ]; then
    echo "test-slurm: FAIL: processes left behind: $left" >&2
    status=1
  fi
  rm -rf "$T"
  [ -e "$T" ] && { echo "test-slurm: FAIL: $T not removed" >&2; status=1; }
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { # a TCP port nobody listens on, from $1 up
  local p=$1
  while ss -Htln "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

# --- MUNGE: a fresh key and a daemon on a socket of its own.
mkdir -p "$T/munge"
chmod 700 "$T/munge"
mungekey --create --keyfile="$T/munge/munge.key" 2>/dev/null || dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge/munge.key"
munged --force --socket="$T/munge/munge.socket" --key-file="$T/munge/munge.key" --pid-file="$T/munge/munged.pid" \
  --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed"
for _ in $(seq 50); do [ -S "$T/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$T/munge/munge.socket" ] || fail "munged did not start"
say "munged pid $(cat "$T/munge/munged.pid")"

# --- slurm.conf: one node, this machine, its own CPUs; no cgroups, no accounting.
host=$(hostname -s)
ctld_port=$(free_port 16817)
slurmd_port=$(free_port $((ctld_port + 1)))
cpus=$(nproc)
mkdir -p "$T/ctld" "$T/slurmd"
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# Generated by scripts/test-slurm.sh: a one-node cluster for the test, in $T.
ClusterName=mbpotest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/slurmd
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=30
MinJobAge=3600
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 120); do
  state=$(sinfo -h -N -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "the node is not idle after 60 s (sinfo: ${state:-no answer})"
say "slurmctld pid $(cat "$T/slurmctld.pid") (port $ctld_port), slurmd pid $(cat "$T/slurmd.pid") (port $slurmd_port), node $host idle with $cpus CPUs"

# wait_job JOBID SECONDS: until no task of the job is pending or running.
wait_job() {
  local id=$1 limit=$2 t=0
  while [ -n "$(squeue -h -j "$id" 2>/dev/null)" ]; do
    ((t++ < limit)) || fail "job $id still queued or running after $limit s: $(squeue -j "$id")"
    sleep 1
  done
}
# job_states JOBID: "TASK STATE EXIT" per array task, sorted.
job_states() {
  scontrol -o show job "$1" | sed -E 's/.*ArrayTaskId=([0-9]+).* JobState=([A-Z_]+).* ExitCode=([0-9:]+).*/\1 \2 \3/' | sort -n
}

# The tiny grid: 2 seeds, each a few seconds of training.
grid=(--envs InvertedPendulum-v4 --ablations none --seeds 0-1 --steps 600 --device cpu --log-level info
  --set epoch-length=150 --set init-steps=150 --set G=2 --set hidden=32 --set model-hidden=32
  --set model-train-freq=75 --set rollout-batch=400 --set model-max-epochs=3 --set eval-episodes=2
  --set model-return-horizon=50)

# --- 1. A two-cell array runs to the end and matches a local sweep.
"$MBPO" sweep "${grid[@]}" --out "$T/array" --emit slurm --parallel 2 --job-name mbpo-test >/dev/null
id=$(MBPO="$MBPO" sbatch --parsable "$T/array/sweep.sbatch")
jobs_submitted+=("$id")
say "submitted $T/array/sweep.sbatch: job $id"
wait_job "$id" 600
states=$(job_states "$id")
say "job $id: $(echo "$states" | tr '\n' ';')"
[ "$states" = $'0 COMPLETED 0:0\n1 COMPLETED 0:0' ] || fail "array tasks ended as: $states"
out=$("$MBPO" sweep "${grid[@]}" --out "$T/array" --log-level warn 2>/dev/null)
grep -q "2 cells: 0 done now, 2 done before" <<<"$out" || fail "the cells are not finished: $out"
"$MBPO" sweep "${grid[@]}" --out "$T/local" --parallel 2 --log-level warn >/dev/null 2>&1
python3 - "$T/array" "$T/local" <<'EOF' || fail "the array's results differ from a local sweep's"
import json, sys, pathlib
def rows(root, seed):
    p = pathlib.Path(root, "InvertedPendulum-v4", "none", f"seed_{seed}", "metrics.jsonl")
    out = []
    for line in p.read_text().splitlines():
        r = json.loads(line)
        out.append({k: v for k, v in r.items() if not (k.startswith(("time/", "perf/")) or k == "wall_s")})
    return out
for seed in (0, 1):
    a, b = rows(sys.argv[1], seed), rows(sys.argv[2], seed)
    if len(a) != 4 or a != b:
        sys.exit(f"seed {seed}: {len(a)} rows on Slurm, {len(b)} here, equal: {a == b}")
print("test-slurm: both cells equal a local sweep, metric for metric (times aside)")
EOF
"$MBPO" report "$T/array" >"$T/report.out" 2>&1 || fail "mbpo report: $(cat "$T/report.out")"
grep -q "| InvertedPendulum-v4 | MBPO | 2 |" "$T/array/report/report.md" || fail "report.md lacks the 2-seed row: $(cat "$T/array/report/report.md")"
say "mbpo report read both cells: $T/array/report/report.md"

# --- 2. A cell past its time limit checkpoints, and its resubmission resumes.
long=(--envs InvertedPendulum-v4 --ablations none --seeds 0 --steps 80000 --device cpu --log-level info
  --set epoch-length=500 --set init-steps=500 --set G=2 --set hidden=32 --set model-hidden=32
  --set model-train-freq=250 --set rollout-batch=400 --set model-max-epochs=3 --set eval-episodes=2
  --set model-return-horizon=50 --set checkpoint-every=0 --set replay-size=4000)
"$MBPO" sweep "${long[@]}" --out "$T/limit" --emit slurm --time 1 --job-name mbpo-limit >/dev/null
grep -q '^#SBATCH --time=1$' "$T/limit/sweep.sbatch" || fail "the emitted script has no --time=1"
id=$(MBPO="$MBPO" sbatch --parsable "$T/limit/sweep.sbatch")
jobs_submitted+=("$id")
say "submitted $T/limit/sweep.sbatch with a 1-minute limit: job $id"
wait_job "$id" 300
states=$(job_states "$id")
log="$T/limit/logs/cell_0.log"
say "job $id: $states; its log: $(grep -E 'interrupted|signal|TERM' "$log" | tail -n 2 | tr '\n' ' ')"
grep -q "cell interrupted: checkpoint saved" "$log" ||
  fail "the cell was not interrupted with a checkpoint (did it finish before slurmctld's first time-limit check, 30 s at most?)"
[ "$states" = "0 FAILED 3:0" ] || fail "the interrupted task ended as $states, want FAILED with mbpo's exit status 3"
stopped=$(grep "cell interrupted" "$log" | grep -o 'env_steps=[0-9]*' | cut -d= -f2)
[ -f "$T/limit/InvertedPendulum-v4/none/seed_0/checkpoint.mbpo" ] && ((stopped > 0 && stopped < 80000)) ||
  fail "no checkpoint inside the run (stopped at ${stopped:-?})"
say "the cell stopped at env step $stopped with a checkpoint"
id=$(MBPO="$MBPO" sbatch --parsable --time=20 "$T/limit/sweep.sbatch")
jobs_submitted+=("$id")
say "resubmitted with --time=20: job $id"
wait_job "$id" 1200
states=$(job_states "$id")
[ "$states" = "0 COMPLETED 0:0" ] || fail "the resubmitted task ended as $states"
grep "resuming cell" "$log" | grep -q "env_steps=$stopped " || grep "resuming cell" "$log" | grep -q "env_steps=$stopped$" ||
  fail "the resubmission did not resume from env step $stopped: $(grep -E 'starting cell|resuming cell' "$log")"
grep -q "cell finished" "$log" || fail "the resumed cell did not finish"
out=$("$MBPO" sweep "${long[@]}" --out "$T/limit" --log-level warn 2>/dev/null)
grep -q "1 cells: 0 done now, 1 done before" <<<"$out" || fail "the cell is not finished: $out"
rows=$(wc -l <"$T/limit/InvertedPendulum-v4/none/seed_0/metrics.jsonl")
((rows == 160)) || fail "the resumed cell has $rows metrics rows, want 160"
"$MBPO" report "$T/limit" >"$T/report.out" 2>&1 || fail "mbpo report: $(cat "$T/report.out")"
say "resumed from env step $stopped and finished: 160 rows, mbpo report reads it"
say "2 passed, 0 failed"
