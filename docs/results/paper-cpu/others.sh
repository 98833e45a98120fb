#!/bin/bash
# others.sh: the learning-evidence runs of the four other benchmarks. Each env
# has its own sweep (paper length, seed 0); this takes them one at a time, each
# until its cell reaches TARGET env steps (SIGTERM then saves an exact mid-epoch
# checkpoint), then the next. Re-running it resumes where it stopped; a larger
# TARGET takes every env further. Several instances may run at once (one per
# free core): each claims an env with mkdir locks/NAME, so no env runs twice.
# At the start of a session, before any instance: rm -rf locks (in this directory).
# ENVS (env:name pairs, in order) narrows or reorders the list, e.g.
# ENVS="Walker2d-v4:walker2d HalfCheetah-v4:halfcheetah".
# It lives in the runs directory (../runs beside the repository, with bin/ and
# logs/ in it); docs/results/paper-cpu/others.sh is its committed copy.
cd "$(dirname "$0")"
TARGET=${TARGET:-55000}
BIN=${BIN:-./bin/mbpo-ceb8ce7}
mkdir -p locks
held=
trap '[ -n "$held" ] && rmdir "locks/$held" 2>/dev/null' EXIT
last() {
	tail -1 "$1/metrics.jsonl" 2>/dev/null | sed -n 's/.*"env_steps":\([0-9]*\).*/\1/p' | grep . || echo 0
}
ENVS=${ENVS:-Ant-v4:ant HumanoidTruncatedObs-v4:humanoid Walker2d-v4:walker2d HalfCheetah-v4:halfcheetah}
for e in $ENVS; do
	env=${e%%:*}
	name=${e##*:}
	dir=$PWD/paper-cpu/$name/$env/none/seed_0
	[ "$(last "$dir")" -ge "$TARGET" ] && continue
	mkdir "locks/$name" 2>/dev/null || continue
	held=$name
	echo "$(date -u +%FT%TZ) others.sh[$$]: $env to $TARGET env steps"
	$BIN sweep --envs "$env" --ablations none --seeds 0 --device cpu --parallel 1 --threads 1 \
		--set checkpoint-every=1 --set checkpoint-model-buffer-mib=8192 --status-every 10m --out "$PWD/paper-cpu/$name" >>"logs/$name.log" 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		sleep 30
		if [ "$(last "$dir")" -ge "$TARGET" ]; then
			kill -TERM $pid
			wait $pid
		fi
	done
	rmdir "locks/$name"
	held=
done
echo "$(date -u +%FT%TZ) others.sh[$$]: nothing left below $TARGET that no other instance holds"
