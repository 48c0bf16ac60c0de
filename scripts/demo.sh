#!/usr/bin/env bash
# Quickstart: sets up what Cube needs, brings up a local cluster (AWS emulator, control plane,
# one worker), runs a task on it and shows it; the cluster keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! node scripts/deps-current.mjs; then
  npm ci --no-audit --no-fund # exactly the lock: a fresh clone stays clean
fi
bash scripts/setup-emulator.sh
bash scripts/ensure-docker.sh
bash scripts/build-test-image.sh

cube() { node bin/cube.js "$@"; }
LOG="$(mktemp -t cube-up.XXXXXX.log)"
# `cube up` in a session of its own: a Ctrl-C reaches this script alone, which stops the
# demo's task (no container left behind), then the cluster, and exits 130 as an
# interrupted command does (0 when the cluster stopped by itself).
setsid node bin/cube.js up "$@" >"$LOG" 2>&1 &
UP_PID=$!
ID=""
stop_all() {
  trap - EXIT INT TERM
  if [ -n "$ID" ] && kill -0 "$UP_PID" 2>/dev/null; then
    echo
    echo "\$ cube stop --wait $ID"
    cube stop --wait --timeout 30 "$ID" || true
  fi
  kill -INT "$UP_PID" 2>/dev/null || true
  wait "$UP_PID" 2>/dev/null || true
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

for _ in $(seq 1 120); do
  grep -q "Press Ctrl-C" "$LOG" && break
  if ! kill -0 "$UP_PID" 2>/dev/null; then cat "$LOG"; exit 1; fi
  sleep 0.5
done
sed -n '/Cube is up/,/Config/p' "$LOG"
export CUBE_API_URL="$(sed -n 's/^  API: *//p' "$LOG")"
export CUBE_TOKEN="$(sed -n 's/^  Token: *//p' "$LOG")"

echo
echo "\$ cube nodes"
for _ in $(seq 1 60); do cube nodes --json | grep -q '"id"' && break; sleep 0.5; done
cube nodes
echo
echo "\$ cube run --wait --name hello --network none cube-test/busybox -- sh -c 'echo hello from Cube; sleep 600'"
ID="$(cube run --wait --name hello --network none cube-test/busybox -- sh -c 'echo hello from Cube; sleep 600' | head -1)"
echo
echo "\$ cube ps"
cube ps
echo
echo "\$ cube inspect $ID"
cube inspect "$ID"
echo
echo "The cluster keeps running (log: $LOG). Try 'node bin/cube.js ps' in another shell;"
echo "press Ctrl-C to stop everything."
wait $UP_PID
