#!/usr/bin/env python3
"""A/B of PriceCacheHandler builds (and the C function) on the bench's 100-record Kinesis batch
against one redis-server, in alternating rounds: how the streamed batch write was judged
(BENCHMARKS.md, "Issue 13, second pass"). Not part of scripts/bench.sh.

usage: batch_stream_ab.py --server .build-bench/runtime-api-server --row NAME=BINARY [--row ...]
                          [--pin] [--rounds N] [--count N]

--pin runs redis-server on CPU 1 and every function on CPU 0 (`taskset`), so Redis can never take
turns with the function on one core, as when Redis is another host (ElastiCache); without it the
kernel places both where it likes, as `scripts/bench.sh` does. Prints per row the medians over
rounds of p50, invocations/s and Redis busy time per batch, and each round's p50.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True, help="runtime-api-server binary")
    parser.add_argument("--row", action="append", required=True, help="NAME=BINARY (PriceCacheHandler or price-function)")
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--count", type=int, default=400)
    arguments = parser.parse_args()

    work_dir = tempfile.mkdtemp(prefix="batch-ab-")
    redis_process, redis_port = bench.start_redis(work_dir)
    try:
        if arguments.pin:
            subprocess.run(["taskset", "-pc", "1", str(redis_process.pid)], check=True, capture_output=True)
        event = os.path.join(work_dir, "kinesis-100.json")
        with open(event, "w") as out:
            json.dump(bench.kinesis_batch(bench.BATCH_SIZE), out)
        pin = ["taskset", "-c", "0"] if arguments.pin else []
        rows = []
        for spec in arguments.row:
            name, _, binary = spec.partition("=")
            rows.append(bench.Row(name, name, pin + [os.path.abspath(binary)], event, arguments.count))
        environment = dict(os.environ, REDIS_ENDPOINT="127.0.0.1", REDIS_PORT=str(redis_port), REDIS_SSL="false",
                           AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                           AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_REGION="us-east-1",
                           AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench", AWS_LAMBDA_LOG_STREAM_NAME="bench")
        for round_index in range(arguments.rounds):
            for row in rows[round_index % len(rows):] + rows[:round_index % len(rows)]:
                result, failure = bench.run_row(row, arguments.server, os.path.join(work_dir, f"{row.key}.log"), environment, redis_port)
                if failure:
                    sys.exit(f"{row.key}: {failure}")
                row.results.append(result)
        print(f"{arguments.rounds} alternating rounds of {arguments.count} batches{', pinned' if arguments.pin else ''}")
        print("| row | p50 us | invocations/s | Redis busy us/inv | p50 per round |")
        print("|---|---:|---:|---:|---|")
        for row in rows:
            rounds = ", ".join(f"{result['p50_us']:.0f}" for result in row.results)
            print(f"| {row.key} | {row.median('p50_us'):.1f} | {row.median('per_second'):.0f} | {row.median('redis_us'):.1f} | {rounds} |")
    finally:
        redis_process.terminate()


if __name__ == "__main__":
    main()
