#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer and then ThreadSanitizer, each in its own
# git-ignored build folder (.build-asan/, .build-tsan/) so the normal debug build is not invalidated.
# The fuzz tests run a tenth of their inputs here (FUZZ_SCALE): the full count runs in the plain
# suite, and a sanitizer's 3-15x slowdown on a million inputs would not fit CI's time.
#
# usage: scripts/test-sanitizers.sh [address|thread ...]     (default: address thread)
set -euo pipefail
cd "$(dirname "$0")/.."

SANITIZERS=("$@")
if [ ${#SANITIZERS[@]} -eq 0 ]; then SANITIZERS=(address thread); fi

FAILED=()
for sanitizer in "${SANITIZERS[@]}"; do
    scratch=".build-${sanitizer:0:1}san"
    started=$(date +%s)
    echo "== swift build --build-tests --sanitize=$sanitizer (in $scratch)"
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
    built=$(date +%s)
    echo "== swift test --sanitize=$sanitizer"
    # halt_on_error: the first report fails the run instead of scrolling by. detect_leaks=0: the
    # Swift runtime's metadata caches live until exit and LeakSanitizer reports them as leaks.
    # SANITIZER tells the fault tests the function binary is instrumented (its RSS is not a leak signal).
    # A failure under one sanitizer does not skip the next: the summary line says which failed.
    SANITIZER="$sanitizer" FUZZ_SCALE=0.1 ASAN_OPTIONS="detect_leaks=0:halt_on_error=1" TSAN_OPTIONS="halt_on_error=1" \
        swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" || FAILED+=("$sanitizer")
    finished=$(date +%s)
    echo "== $sanitizer: build $((built - started)) s, tests $((finished - built)) s"
done
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "== failed under: ${FAILED[*]}" >&2
    exit 1
fi
