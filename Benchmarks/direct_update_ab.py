#!/usr/bin/env python3
"""A/B of builds on the direct price update, in alternating rounds against one redis-server: how the
second pass of issue 13 measured each change (BENCHMARKS.md). Not part of scripts/bench.sh.

usage: direct_update_ab.py --server .build-bench/runtime-api-server [--rounds N] [--count N] LABEL=BINARY...

Each round runs every binary once (COUNT direct updates, the first tenth left out), in an order
rotated every round; prints each row's median p50, p99 and Redis busy us per invocation, and each
round's p50s, so a ratio can be read within one round.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("rows", nargs="+", help="LABEL=BINARY")
    arguments = parser.parse_args()
    work_dir = tempfile.mkdtemp(prefix="direct-ab-")
    redis_process, redis_port = bench.start_redis(work_dir)
    try:
        event = os.path.join(work_dir, "direct-update.json")
        with open(event, "w") as out:
            json.dump(bench.DIRECT_UPDATE, out)
        rows = []
        for spec in arguments.rows:
            label, binary = spec.split("=", 1)
            rows.append(bench.Row(label, label, [os.path.abspath(binary)], event, arguments.count))
        environment = dict(os.environ, REDIS_ENDPOINT="127.0.0.1", REDIS_PORT=str(redis_port), REDIS_SSL="false",
                           AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                           AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_REGION="us-east-1",
                           AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench", AWS_LAMBDA_LOG_STREAM_NAME="bench")
        environment.pop("AWS_LAMBDA_LOG_LEVEL", None)
        for round_index in range(arguments.rounds):
            order = rows[round_index % len(rows):] + rows[:round_index % len(rows)]
            for row in order:
                result, failure = bench.run_row(row, os.path.abspath(arguments.server),
                                                os.path.join(work_dir, f"{row.key}.log"), environment, redis_port)
                if failure:
                    sys.exit(f"{row.label}: {failure}")
                row.results.append(result)
            print(f"round {round_index + 1}: " + "  ".join(
                f"{row.label} p50 {row.results[-1]['p50_us']:.1f} p99 {row.results[-1]['p99_us']:.1f}" for row in rows),
                file=sys.stderr, flush=True)
        print(f"{'row':<24} {'p50 us':>8} {'p99 us':>8} {'inv/s':>8} {'Redis us/inv':>12}   p50 per round")
        for row in rows:
            per_round = " ".join(f"{result['p50_us']:.1f}" for result in row.results)
            print(f"{row.label:<24} {row.median('p50_us'):>8.1f} {row.median('p99_us'):>8.1f} "
                  f"{row.median('per_second'):>8.0f} {row.median('redis_us'):>12.2f}   {per_round}")
    finally:
        redis_process.send_signal(signal.SIGTERM)
        redis_process.wait()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
