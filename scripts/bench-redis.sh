#!/usr/bin/env bash
# RedisClient beside redis-benchmark on the same local redis-server, in one run:
#   - median latency of one GET on a pooled connection   vs  redis-benchmark -c 1 -P 1 (p50)
#   - pipelined GET throughput at depth 16                vs  redis-benchmark -c 1 -P 16
# Targets: latency within 1.15x of redis-benchmark's, throughput at least 0.7x.
# Each side runs ROUNDS times, alternating, and the median round counts: the machine is shared.
#
# Usage: scripts/bench-redis.sh            (REQUESTS=100000 ROUNDS=3 by default)
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS="${REQUESTS:-100000}"
ROUNDS="${ROUNDS:-3}"

swift build -c release --product RedisBenchmark >/dev/null
BENCHMARK="$(swift build -c release --show-bin-path)/RedisBenchmark"

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
cleanup() {
    if [[ -f "$WORK/redis.pid" ]]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
# redis-benchmark's GET reads the literal key "key:__rand_int__" (no -r): give it a 3-byte value,
# redis-benchmark's default size, so both sides fetch the same reply.
redis-cli -p "$PORT" SET 'key:__rand_int__' xxx >/dev/null

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# "GET: 38461.54 requests per second, p50=0.023 msec" -> rps and p50 in microseconds
redis_benchmark() {
    redis-benchmark -p "$PORT" -c 1 -n "$1" -P "$2" -t get -q 2>/dev/null | tr '\r' '\n' | grep '^GET:' | tail -1
}

: > "$WORK/rb_p50"; : > "$WORK/rb_rps"; : > "$WORK/rb_p16"
: > "$WORK/c_p50"; : > "$WORK/c_rps"; : > "$WORK/c_p16"
for round in $(seq "$ROUNDS"); do
    line="$(redis_benchmark "$REQUESTS" 1)"
    awk '{ print $2 }' <<<"$line" >> "$WORK/rb_rps"
    sed -E 's/.*p50=([0-9.]+) msec.*/\1/' <<<"$line" | awk '{ print $1 * 1000 }' >> "$WORK/rb_p50"
    redis_benchmark $((REQUESTS * 10)) 16 | awk '{ print $2 }' >> "$WORK/rb_p16"

    output="$("$BENCHMARK" --port "$PORT" --requests "$REQUESTS")"
    sed -n 's/^client_get_p50_us=//p' <<<"$output" >> "$WORK/c_p50"
    sed -n 's/^client_get_rps=//p' <<<"$output" >> "$WORK/c_rps"
    sed -n 's/^client_pipeline16_rps=//p' <<<"$output" >> "$WORK/c_p16"
    echo "round $round done" >&2
done

rb_p50="$(median < "$WORK/rb_p50")"; rb_rps="$(median < "$WORK/rb_rps")"; rb_p16="$(median < "$WORK/rb_p16")"
c_p50="$(median < "$WORK/c_p50")"; c_rps="$(median < "$WORK/c_rps")"; c_p16="$(median < "$WORK/c_p16")"

awk -v rb_p50="$rb_p50" -v rb_rps="$rb_rps" -v rb_p16="$rb_p16" \
    -v c_p50="$c_p50" -v c_rps="$c_rps" -v c_p16="$c_p16" -v rounds="$ROUNDS" -v n="$REQUESTS" \
    -v version="$(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/')" 'BEGIN {
    printf "RedisClient vs redis-benchmark (redis-server %s, loopback, 1 connection, median of %d rounds of %d requests)\n", version, rounds, n
    printf "%-34s %14s %16s %8s %s\n", "measure", "RedisClient", "redis-benchmark", "ratio", "target"
    lat = c_p50 / rb_p50
    printf "%-34s %11.1f us %13.1f us %7.2fx %s\n", "GET median latency (-P 1)", c_p50, rb_p50, lat, (lat <= 1.15 ? "<= 1.15x  met" : "<= 1.15x  NOT MET")
    printf "%-34s %11.0f/s %14.0f/s %7.2fx %s\n", "GET throughput, one at a time", c_rps, rb_rps, c_rps / rb_rps, "(for reference)"
    thr = c_p16 / rb_p16
    printf "%-34s %11.0f/s %14.0f/s %7.2fx %s\n", "GET throughput, pipeline depth 16", c_p16, rb_p16, thr, (thr >= 0.7 ? ">= 0.70x  met" : ">= 0.70x  NOT MET")
}'
