#!/usr/bin/env bash
# The main job, end to end on this machine: build PriceCacheHandler, start a throw-away redis-server,
# invoke the function through the real runtime loop with a sample event, and show the result and
# the cached key as the serving layer would read it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release --product PriceCacheHandler
BIN="$(swift build -c release --show-bin-path)"

PORT="$(bash scripts/free-port.sh)"
DATA_DIR="$(mktemp -d)"
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DATA_DIR" --daemonize no \
    >"$DATA_DIR/redis.log" 2>&1 &
REDIS_PID=$!
trap 'kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; rm -rf "$DATA_DIR"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export REDIS_ENDPOINT=127.0.0.1 REDIS_PORT="$PORT" REDIS_SSL=false
EVENT="${1:-events/price-update.json}"
echo "== PriceCacheHandler --event $EVENT"
"$BIN/PriceCacheHandler" --event "$EVENT"
echo
echo "== redis-cli HGETALL price:AAPL (TTL $(redis-cli -p "$PORT" TTL price:AAPL) s)"
redis-cli -p "$PORT" HGETALL price:AAPL
