#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (swiftc -sanitize=fuzzer,address), beyond the seeded
# generator that runs in the test suite. Not part of the test command: it runs until the time is up
# or a crash, which it keeps as .build-fuzz/<target>/crash-* for replay (`.build-fuzz/<target>/fuzzer FILE`).
#
# usage: scripts/fuzz-libfuzzer.sh resp|events [SECONDS]     (default 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="${1:-}"
SECONDS_TO_RUN="${2:-60}"
case "$TARGET" in
    resp)   SOURCES=(Sources/RedisPool/RESP/*.swift Sources/RedisPool/Client/RedisCommand.swift Fuzz/RESPParserFuzzer.swift)
            SEEDS=() ;;
    events) SOURCES=($(find Sources/LambdaEvents -name '*.swift') Fuzz/EventDecodingFuzzer.swift)
            SEEDS=(events/*.json) ;;
    *) echo "usage: $0 resp|events [SECONDS]" >&2; exit 2 ;;
esac

WORK=".build-fuzz/$TARGET"
mkdir -p "$WORK/corpus"
[ ${#SEEDS[@]} -eq 0 ] || cp "${SEEDS[@]}" "$WORK/corpus/"
echo "== swiftc -sanitize=fuzzer,address ($TARGET)"
# -O: libFuzzer's value is executions per second; the sanitizer checks stay on.
# gold warns once per ASan helper symbol ("Cannot export local symbol"): harmless, filtered.
if ! swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz${TARGET}" "${SOURCES[@]}" \
    -o "$WORK/fuzzer" >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    exit 1
fi
grep -v "Cannot export local symbol" "$WORK/build.log" || true
echo "== fuzzing $TARGET for $SECONDS_TO_RUN s"
cd "$WORK"
./fuzzer -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -print_final_stats=1 corpus
