#!/bin/bash
# after-hopper.sh: when Hopper seed 0's sweep (the paper's 125 learning epochs)
# ends with its cell done, give its core to a second others.sh instance
# (Walker2d and HalfCheetah then run side by side). Start it each session
# after the Hopper sweep and others.sh.
# It lives in the runs directory (../runs, beside others.sh);
# docs/results/paper-cpu/after-hopper.sh is its committed copy.
cd "$(dirname "$0")"
while pgrep -f "bin/mbpo sweep --envs Hopper-v4" >/dev/null; do sleep 30; done
tail -3 logs/hopper.log | grep -q "1 done now" || exit 0
echo "$(date -u +%FT%TZ) after-hopper.sh: Hopper done; a second others.sh" >>logs/others.log
exec ./others.sh >>logs/others.log 2>&1
