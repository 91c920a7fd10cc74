#!/usr/bin/env bash
# Benchmarks against the limits of issues 6 and 13 (not part of the test command): the Swift runtime
# against a C libcurl loop, PriceCacheHandler against Redis round trips and against the same price
# update written in C (Benchmarks/price-function.c), the Python stack of the original design, and
# the deployment zip sizes (x86_64 from dist/, arm64 from dist/arm64/: sizes only, no timings, as
# arm64 runs here only under emulation). Prints one table of medians over alternating rounds.
#
# usage: scripts/bench.sh [--rounds N] [--scale F] [--only ROW,ROW]   (defaults: 7 rounds, scale 1, every row)
# The rows include a 100-record Kinesis batch against a three-primary Redis Cluster (cluster_batch).
# Everything it builds goes to git-ignored folders: .build-bench/ (C programs), .venv/ (Python).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The C rows only (not the project's build or tests): a compiler, and hiredis and cJSON for the C
# price function the direct update is measured against.
BENCH_APT_PACKAGES=(gcc libhiredis-dev libcjson-dev)
if ! dpkg -s "${BENCH_APT_PACKAGES[@]}" >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${BENCH_APT_PACKAGES[@]}" >/dev/null
fi

BENCH_BUILD=.build-bench
mkdir -p "$BENCH_BUILD"
echo "== gcc: runtime-api-server, reference-loop, price-function" >&2
gcc -O2 -Wall -Wextra -o "$BENCH_BUILD/runtime-api-server" Benchmarks/runtime-api-server.c
gcc -O2 -Wall -Wextra -o "$BENCH_BUILD/reference-loop" Benchmarks/reference-loop.c $(pkg-config --cflags --libs libcurl)
# The row to beat for the price update: the same direct update and Kinesis batch in C (libcurl,
# hiredis, cJSON: Debian's shared libraries; there is no static cJSON to link it like the bootstrap).
gcc -O2 -Wall -Wextra -o "$BENCH_BUILD/price-function" Benchmarks/price-function.c \
    $(pkg-config --cflags --libs libcurl) -lhiredis -lcjson

# The packaged bootstrap links a minimal static libcurl and static OpenSSL (scripts/package.sh); its
# fair reference is the C loop linked the same way, with the same compiler, where those exist.
REFERENCE_STATIC=()
ZIG_CC="$(ls .tools/bin/zig-cc-glibc* 2>/dev/null | head -1 || true)"
CURL_PREFIX="$(ls -d .tools/curl-*/prefix 2>/dev/null | head -1 || true)"
if [ -n "$ZIG_CC" ] && [ -f "$CURL_PREFIX/lib/libcurl.a" ]; then
    echo "== zig cc: reference-loop with the packaged static libcurl" >&2
    "$ZIG_CC" -O2 -DCURL_STATICLIB -I "$CURL_PREFIX/include" -o "$BENCH_BUILD/reference-loop-static" \
        Benchmarks/reference-loop.c "$CURL_PREFIX/lib/libcurl.a" \
        /usr/lib/x86_64-linux-gnu/libssl.a /usr/lib/x86_64-linux-gnu/libcrypto.a /usr/lib/x86_64-linux-gnu/libz.a \
        -lpthread -ldl
    REFERENCE_STATIC=(--reference-static "$BENCH_BUILD/reference-loop-static")
fi

# What Lambda runs has no Swift runtime installed, so the functions are measured as they ship:
# release, Swift standard library linked statically.
echo "== swift build -c release --static-swift-stdlib" >&2
for product in RuntimeEcho PriceCacheHandler; do
    swift build -c release --static-swift-stdlib --product "$product" >&2
done
SWIFT_BIN="$(swift build -c release --show-bin-path)"

# The Python stack the original design used, pinned; a venv keeps it away from the system Python.
PYTHON_PACKAGES=(awslambdaric==4.2.2 redis==5.2.1)
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || { apt-get install -y -qq python3-venv >/dev/null && python3 -m venv .venv; }
fi
.venv/bin/pip install -q --disable-pip-version-check "${PYTHON_PACKAGES[@]}" >&2

echo "== $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: scripts/bench.sh $*" >&2
exec python3 -B Benchmarks/bench.py \
    --server "$BENCH_BUILD/runtime-api-server" --reference "$BENCH_BUILD/reference-loop" "${REFERENCE_STATIC[@]}" \
    --price-function "$BENCH_BUILD/price-function" \
    --swift-bin "$SWIFT_BIN" --python .venv/bin/python --python-handler-dir Benchmarks/python \
    --dist dist "$@"
