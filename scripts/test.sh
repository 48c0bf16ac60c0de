#!/usr/bin/env bash
# The whole test suite: sets up what it needs (npm deps, the emulator's virtualenv, a Docker
# engine when it may start one, the local test image), then lint, typecheck and all tests
# against a real AWS emulator and a real Docker engine.
# AWS_ENDPOINT_URL set (e.g. LocalStack) -> tests use it; otherwise one moto is started here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "npm dependencies"
if ! node scripts/deps-current.mjs; then
  npm ci --no-audit --no-fund # exactly the lock; its prepare script builds the worker bundle
else
  # What `cube worker` runs: rebuilt here too, so edited sources never leave it stale.
  npm run --silent build:worker
fi

step "AWS emulator"
bash scripts/setup-emulator.sh

step "Docker engine and test image"
bash scripts/ensure-docker.sh
bash scripts/build-test-image.sh

step "lint and format (biome)"
npx biome check .

step "typecheck (tsc)"
npx tsc --noEmit -p tsconfig.json

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  PORT="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  .venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p "$PORT" >/tmp/cube-test-moto.log 2>&1 &
  MOTO_PID=$!
  trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
  export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" && break
    sleep 0.2
  done
fi
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"

shopt -s globstar nullglob
FILES=()
for f in test/**/*.test.ts; do
  case "$f" in test/chaos/*) ;; *) FILES+=("$f") ;; esac
done
CHAOS=(test/chaos/*.test.ts)

step "tests (node --test) against $AWS_ENDPOINT_URL"
node --import tsx --test --test-force-exit --test-concurrency=2 --test-timeout=300000 --test-reporter=spec "${FILES[@]}"

# The chaos tests kill workers, cut the AWS endpoint and restart dockerd: one at a time,
# after everything else.
if [ "${#CHAOS[@]}" -gt 0 ] && [ "${CUBE_SKIP_CHAOS:-}" != 1 ]; then
  step "chaos tests (one at a time)"
  node --import tsx --test --test-force-exit --test-concurrency=1 --test-timeout=300000 --test-reporter=spec "${CHAOS[@]}"
fi
