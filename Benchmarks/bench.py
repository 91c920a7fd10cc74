#!/usr/bin/env python3
"""Runs every benchmark row in alternating rounds and prints the table with ratios and targets.

Called by scripts/bench.sh, which builds what this needs and passes the paths. Each row is one
function process started by runtime-api-server (Benchmarks/runtime-api-server.c), which feeds it
COUNT copies of one event and reports per-invocation times, init time and peak RSS. One round runs
every row once, in an order rotated each round, so slow drifts of this shared machine hit every row
alike; the table shows the median over rounds of each figure.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field

DIRECT_UPDATE = {
    "symbol": "AAPL", "close": "205.50", "open": "203.00", "high": "206.00", "low": "202.50",
    "volume": "1000000", "timestamp": "1697658000",
}
BATCH_SIZE = 100


@dataclass
class Row:
    key: str
    label: str
    command: list
    event: str
    count: int
    cwd: str = None
    # Variables that differ from the common environment (the cluster rows' endpoint), and the
    # Redis servers whose busy time the row is charged (the single node unless given).
    environment: dict = None
    redis_ports: list = None
    results: list = field(default_factory=list)
    failure: str = None

    @property
    def warmup(self):
        """Invocations left out of the figures: the first tenth (connections, caches, page faults)."""
        return self.count // 10

    def median(self, name):
        values = [result[name] for result in self.results]
        return statistics.median(values) if values else None


def kinesis_batch(size):
    """A Kinesis event of `size` price updates for distinct symbols, shaped as Lambda delivers it."""
    records = []
    for index in range(size):
        update = dict(DIRECT_UPDATE, symbol=f"SYM{index:03d}")
        sequence = f"4954511524144582180062593244200961767381423{index:05d}"
        records.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0", "partitionKey": update["symbol"], "sequenceNumber": sequence,
                "data": base64.b64encode(json.dumps(update).encode()).decode(),
                "approximateArrivalTimestamp": 1697658000.123,
            },
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"shardId-000000000000:{sequence}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/price-cache",
            "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/prices",
        })
    return {"Records": records}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(work_dir):
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", work_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
            return process, port
        time.sleep(0.05)
    process.kill()
    sys.exit("bench: redis-server did not start")


def start_cluster(work_dir, primaries=3):
    """A Redis Cluster of `primaries` primaries without replicas on loopback (replicas would share
    these cores with the function; on ElastiCache they run on hosts of their own)."""
    processes, ports = [], []
    for index in range(primaries):
        port, bus_port = free_port(), free_port()
        node_dir = os.path.join(work_dir, f"cluster-{index}")
        os.makedirs(node_dir)
        processes.append(subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", node_dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-port", str(bus_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    for port in ports:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
                break
            time.sleep(0.05)
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{port}" for port in ports], "--cluster-yes"],
                   capture_output=True, check=True)
    for _ in range(200):
        states = [subprocess.run(["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True, text=True).stdout
                  for port in ports]
        if all("cluster_state:ok" in state for state in states):
            return processes, ports
        time.sleep(0.05)
    for process in processes:
        process.kill()
    sys.exit("bench: the cluster did not become ready")


def redis_round_trip_us(port):
    """One Redis round trip as redis-benchmark measures it: one client, no pipelining."""
    output = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "1", "-P", "1", "-n", "20000", "-t", "get", "--csv"],
        capture_output=True, text=True, check=True).stdout
    for line in output.splitlines():
        cells = [cell.strip('"') for cell in line.split(",")]
        if cells[0] == "GET":
            return 1e6 / float(cells[1])
    sys.exit(f"bench: cannot read redis-benchmark output:\n{output}")


# Redis 7.0 counts a command a script runs twice in INFO commandstats: on its own line
# (cmdstat_hset...) and inside the usec of the script call that ran it (cmdstat_evalsha). Summing
# every line would count the batch's HGET/HSET/EXPIRE twice. commandstats cannot tell a script's HSET
# from one the client sent, so when a row made script calls, the lines of the commands our write
# scripts run (PriceCache/CacheWrite.swift) are left out: the Swift write path sends the script call
# and nothing else, while the Python rows (no scripts) send HSET/EXPIRE themselves and keep them.
SCRIPT_CALLS = ("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro")
COMMANDS_RUN_BY_SCRIPTS = ("hget", "get", "hset", "expire", "set")


def redis_busy_us(port):
    """Microseconds Redis spent executing the commands clients sent since the last CONFIG RESETSTAT."""
    output = subprocess.run(["redis-cli", "-p", str(port), "INFO", "commandstats"],
                            capture_output=True, text=True, check=True).stdout
    usec_by_command = {}
    for line in output.splitlines():
        if line.startswith("cmdstat_"):
            name, stats = line[len("cmdstat_"):].split(":", 1)
            name = name.split("|", 1)[0]  # "config|resetstat": the command, not its subcommand
            fields = dict(item.split("=", 1) for item in stats.split(","))
            usec_by_command[name] = usec_by_command.get(name, 0) + int(fields["usec"])
    excluded = {"config", "info"}  # the bench's own RESETSTAT and this INFO
    if any(name in usec_by_command for name in SCRIPT_CALLS):
        excluded.update(COMMANDS_RUN_BY_SCRIPTS)
    return sum(usec for name, usec in usec_by_command.items() if name not in excluded)


def run_row(row, server, log_path, environment, redis_port):
    redis_ports = row.redis_ports or [redis_port]
    for port in redis_ports:
        subprocess.run(["redis-cli", "-p", str(port), "CONFIG", "RESETSTAT"], capture_output=True, check=True)
    completed = subprocess.run(
        [server, "--event", row.event, "--count", str(row.count), "--warmup", str(row.warmup), "--log", log_path,
         "--", *row.command], capture_output=True, text=True, cwd=row.cwd, env=dict(environment, **(row.environment or {})))
    report = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    if completed.returncode != 0 or report.get("errors") != "0":
        reason = report.get("first_error") or (
            f"exited early (code {report['exited_early']})" if "exited_early" in report else completed.stderr.strip())
        return None, f"{reason or 'failed'} (function log: {log_path})"
    result = {name: float(report[name]) for name in ("per_second", "p50_us", "p99_us", "init_ms", "peak_rss_kib")}
    # Server-side execution time, to tell Redis's share of an invocation from the function's own.
    result["redis_us"] = sum(redis_busy_us(port) for port in redis_ports) / row.count
    return result, None


@dataclass
class SwiftVariant:
    key: str
    label: str
    executables: dict  # product name -> path

    def path(self, product):
        return self.executables.get(product, f"(no {product} in {self.label})")


def swift_variants(arguments, work_dir):
    """The SwiftPM release build, and the packaged bootstraps (what Lambda runs) where dist/ has them."""
    products = ("RuntimeEcho", "PriceCacheHandler")
    variants = [SwiftVariant("", "swift build", {name: os.path.join(arguments.swift_bin, name) for name in products})]
    packaged = {}
    for product in products:
        archive = os.path.join(arguments.dist, f"{product}.zip")
        if os.path.exists(archive):
            folder = os.path.join(work_dir, "packaged", product)
            with zipfile.ZipFile(archive) as bundle:
                bundle.extract("bootstrap", folder)
            packaged[product] = os.path.join(folder, "bootstrap")
            os.chmod(packaged[product], 0o755)
    if packaged:
        variants.append(SwiftVariant("pkg_", "packaged bootstrap", packaged))
    return variants


def zip_sizes(dist_dir, architecture):
    """scripts/package.sh's zips for one architecture: x86_64 in dist/, arm64 in dist/arm64/."""
    folder = dist_dir if architecture == "x86_64" else os.path.join(dist_dir, architecture)
    if not os.path.isdir(folder):
        return []
    return sorted((name, os.path.getsize(os.path.join(folder, name)))
                  for name in os.listdir(folder) if name.endswith(".zip"))


def python_zip_size(handler_path, python, work_dir):
    """What the Python stack deploys: the handler plus redis-py (awslambdaric is in the managed runtime)."""
    site = subprocess.run([python, "-c", "import redis, os; print(os.path.dirname(os.path.dirname(redis.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    archive = os.path.join(work_dir, "python-function.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        bundle.write(handler_path, os.path.basename(handler_path))
        for folder, _, files in os.walk(os.path.join(site, "redis")):
            for name in files:
                if not name.endswith(".pyc"):
                    path = os.path.join(folder, name)
                    bundle.write(path, os.path.relpath(path, site))
    return os.path.getsize(archive)


def format_number(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def verdict(ok):
    return "met" if ok else "NOT MET"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True, help="runtime-api-server binary")
    parser.add_argument("--reference", required=True, help="reference-loop binary")
    parser.add_argument("--reference-static", help="reference-loop linked like the packaged bootstrap")
    parser.add_argument("--price-function", help="price-function binary (the C direct update and batch)")
    parser.add_argument("--swift-bin", required=True, help="folder of the release Swift executables")
    parser.add_argument("--python", required=True, help="python of the venv with awslambdaric and redis")
    parser.add_argument("--python-handler-dir", required=True)
    parser.add_argument("--dist", required=True, help="folder of the packaged zips")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every invocation count")
    parser.add_argument("--only", help="comma-separated row keys to run (e.g. batch,cluster_batch); default all")
    arguments = parser.parse_args()
    if arguments.rounds < 1:
        sys.exit("bench: --rounds must be at least 1")
    # Python rows run in the handler's folder: every path must survive the change of folder.
    for name in ("server", "reference", "reference_static", "price_function", "swift_bin", "python", "python_handler_dir", "dist"):
        if getattr(arguments, name):
            setattr(arguments, name, os.path.abspath(getattr(arguments, name)))

    work_dir = tempfile.mkdtemp(prefix="bench-")
    redis_process, redis_port = start_redis(work_dir)
    cluster_processes, cluster_ports = start_cluster(work_dir)
    try:
        direct_event = os.path.join(work_dir, "direct-update.json")
        batch_event = os.path.join(work_dir, "kinesis-100.json")
        with open(direct_event, "w") as out:
            json.dump(DIRECT_UPDATE, out)
        with open(batch_event, "w") as out:
            json.dump(kinesis_batch(BATCH_SIZE), out)

        def count(n):
            return max(20, int(n * arguments.scale))

        python_runtime = [arguments.python, "-m", "awslambdaric"]
        rows = [Row("c", "C libcurl loop (echo)", [arguments.reference], direct_event, count(3000))]
        if arguments.reference_static:
            rows.append(Row("pkg_c", "C libcurl loop (echo, static libcurl as packaged)", [arguments.reference_static],
                            direct_event, count(3000)))
        if arguments.price_function:
            rows += [
                Row("cfn_direct", "C function direct update (hiredis, cJSON)", [arguments.price_function], direct_event,
                    count(2000)),
                Row("cfn_batch", f"C function Kinesis {BATCH_SIZE} records (hiredis, cJSON)", [arguments.price_function],
                    batch_event, count(500)),
            ]
        for variant in swift_variants(arguments, work_dir):
            rows += [
                Row(variant.key + "echo", f"RuntimeEcho ({variant.label})", [variant.path("RuntimeEcho")], direct_event,
                    count(3000)),
                Row(variant.key + "direct", f"PriceCacheHandler direct update ({variant.label})",
                    [variant.path("PriceCacheHandler")], direct_event, count(2000)),
                Row(variant.key + "batch", f"PriceCacheHandler Kinesis {BATCH_SIZE} records ({variant.label})",
                    [variant.path("PriceCacheHandler")], batch_event, count(500)),
                # The same batch against a three-primary cluster: one script call per slot, one
                # pipeline per node (issue 12's target: at most 1.5x the single node's p50).
                Row(variant.key + "cluster_batch",
                    f"PriceCacheHandler Kinesis {BATCH_SIZE} records, 3-primary cluster ({variant.label})",
                    [variant.path("PriceCacheHandler")], batch_event, count(500),
                    environment={"REDIS_PORT": str(cluster_ports[0]), "REDIS_CLUSTER_MODE": "enabled"},
                    redis_ports=cluster_ports),
            ]
        rows += [
            Row("py_echo", "Python awslambdaric (echo)", python_runtime + ["price_handler.echo"], direct_event,
                count(1000), cwd=arguments.python_handler_dir),
            Row("py_direct", "Python redis-py direct update", python_runtime + ["price_handler.update_price"], direct_event,
                count(1000), cwd=arguments.python_handler_dir),
            Row("py_batch", f"Python redis-py Kinesis {BATCH_SIZE} records", python_runtime + ["price_handler.update_price"],
                batch_event, count(100), cwd=arguments.python_handler_dir),
        ]
        if arguments.only:
            wanted = set(arguments.only.split(","))
            rows = [row for row in rows if row.key in wanted]
        for row in rows:
            if not os.access(row.command[0], os.X_OK):
                row.failure = f"not built ({row.command[0]})"

        environment = dict(os.environ, REDIS_ENDPOINT="127.0.0.1", REDIS_PORT=str(redis_port), REDIS_SSL="false",
                           AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                           AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_REGION="us-east-1",
                           AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench", AWS_LAMBDA_LOG_STREAM_NAME="bench")
        environment.pop("AWS_LAMBDA_LOG_LEVEL", None)
        round_trips = []
        started = time.monotonic()
        for round_index in range(arguments.rounds):
            order = rows[round_index % len(rows):] + rows[:round_index % len(rows)]
            round_trips.append(redis_round_trip_us(redis_port))
            for row in order:
                if row.failure:
                    continue
                result, failure = run_row(row, arguments.server, os.path.join(work_dir, f"{row.key}.log"), environment,
                                          redis_port)
                if failure:
                    row.failure = failure
                else:
                    row.results.append(result)
            print(f"round {round_index + 1}/{arguments.rounds} done", file=sys.stderr, flush=True)
        elapsed = time.monotonic() - started
        round_trip = statistics.median(round_trips)

        by_key = {row.key: row for row in rows}
        print_table(rows, by_key, round_trip, arguments, elapsed)
        print_targets(by_key, round_trip)
        print_zip_sizes(arguments, work_dir)
        failed = [row for row in rows if row.failure]
        for row in failed:
            print(f"- {row.label}: {row.failure}")
    finally:
        for process in [redis_process, *cluster_processes]:
            process.send_signal(signal.SIGTERM)
            process.wait()
    if not any(row.failure for row in rows):
        shutil.rmtree(work_dir, ignore_errors=True)


def print_table(rows, by_key, round_trip, arguments, elapsed):
    print(f"Medians of {arguments.rounds} alternating rounds ({elapsed:.0f} s); "
          f"Redis round trip (redis-benchmark -c 1 -P 1, GET): {round_trip:.1f} us\n")
    print("| row | invocations/s | p50 us | p99 us | init ms | peak RSS MiB | Redis busy us/inv | p50 vs C loop | init vs C loop |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if not row.results:
            print(f"| {row.label} | n/a | n/a | n/a | n/a | n/a | n/a | | |")
            continue
        rss = row.median("peak_rss_kib") / 1024
        # Packaged rows compare with the C loop linked as they are (static libcurl), when measured.
        static_reference = by_key.get("pkg_c")
        reference = static_reference if row.key.startswith("pkg_") and static_reference else by_key.get("c")
        ratio_p50 = ratio_init = ""
        if reference and reference.results:
            ratio_p50 = f"{row.median('p50_us') / reference.median('p50_us'):.2f}x"
            ratio_init = f"{row.median('init_ms') / reference.median('init_ms'):.2f}x"
        print(f"| {row.label} | {format_number(row.median('per_second'))} | {format_number(row.median('p50_us'), 1)} | "
              f"{format_number(row.median('p99_us'), 1)} | {format_number(row.median('init_ms'), 1)} | {rss:.1f} | "
              f"{format_number(row.median('redis_us'), 1)} | {ratio_p50} | {ratio_init} |")
    print()


def print_targets(by_key, round_trip):
    print("| target | build | measured | limit | verdict |")
    print("|---|---|---:|---:|---|")
    for prefix, build in (("", "swift build"), ("pkg_", "packaged bootstrap")):
        single, cluster = by_key.get(prefix + "batch"), by_key.get(prefix + "cluster_batch")
        if single and cluster and single.results and cluster.results:
            ratio = cluster.median("p50_us") / single.median("p50_us")
            print(f"| Kinesis {BATCH_SIZE}-record batch p50, 3-primary cluster / one node | {build} | {ratio:.2f}x "
                  f"({cluster.median('p50_us'):.1f} / {single.median('p50_us'):.1f} us) | 1.5x | {verdict(ratio <= 1.5)} |")
        echo, direct, batch = (by_key.get(prefix + name) for name in ("echo", "direct", "batch"))
        if echo is None or direct is None or batch is None:
            continue
        # Each build against the C loop linked the same way: dynamic libcurl, or static as packaged.
        reference = by_key.get(prefix + "c") or by_key.get("c")
        if reference and reference.results and echo.results:
            p50_ratio = echo.median("p50_us") / reference.median("p50_us")
            init_ratio = echo.median("init_ms") / reference.median("init_ms")
            print(f"| RuntimeEcho p50 / C loop p50 | {build} | {p50_ratio:.2f}x | 1.25x | {verdict(p50_ratio <= 1.25)} |")
            print(f"| RuntimeEcho init / C loop init | {build} | {init_ratio:.2f}x | 1.25x | {verdict(init_ratio <= 1.25)} |")
        if echo.results:
            rss = echo.median("peak_rss_kib") / 1024
            print(f"| RuntimeEcho peak RSS | {build} | {rss:.1f} MiB | 16 MiB | {verdict(rss <= 16)} |")
        if echo.results and direct.results:
            budget = echo.median("p50_us") + 1.5 * round_trip
            measured = direct.median("p50_us")
            print(f"| direct update p50 <= echo p50 + 1.5 round trips | {build} | {measured:.1f} us | {budget:.1f} us | "
                  f"{verdict(measured <= budget)} |")
        if batch.results:
            measured = batch.median("p50_us")
            print(f"| Kinesis {BATCH_SIZE}-record batch p50 | {build} | {measured:.1f} us | 1000 us | "
                  f"{verdict(measured <= 1000)} |")
        print_c_function_targets(by_key, prefix, build)
    for swift_key, python_key, what in (("echo", "py_echo", "echo"), ("direct", "py_direct", "direct update"),
                                        ("batch", "py_batch", f"{BATCH_SIZE}-record batch")):
        swift_row, python_row = by_key.get(swift_key), by_key.get(python_key)
        if swift_row and python_row and swift_row.results and python_row.results:
            print(f"| Python p50 / Swift p50, {what} (no target) | swift build | "
                  f"{python_row.median('p50_us') / swift_row.median('p50_us'):.1f}x | | |")
    print()


def print_c_function_targets(by_key, prefix, build):
    """Issue 13: the Swift function against the same update written in C (Benchmarks/price-function.c)."""
    c_direct, c_batch = by_key.get("cfn_direct"), by_key.get("cfn_batch")
    direct, batch = by_key.get(prefix + "direct"), by_key.get(prefix + "batch")
    if c_direct and c_direct.results and direct and direct.results:
        for figure, limit in (("p50_us", 1.15), ("p99_us", 1.5)):
            ratio = direct.median(figure) / c_direct.median(figure)
            print(f"| direct update {figure[:3]} / C function {figure[:3]} | {build} | {ratio:.2f}x | {limit}x | "
                  f"{verdict(ratio <= limit)} |")
    if direct and direct.results:
        busy = direct.median("redis_us")
        print(f"| Redis busy per direct update | {build} | {busy:.1f} us | 8 us | {verdict(busy <= 8)} |")
    if c_batch and c_batch.results and batch and batch.results:
        ratio = batch.median("per_second") / c_batch.median("per_second")
        print(f"| Kinesis {BATCH_SIZE}-record records/s / C function's | {build} | {ratio:.2f}x | 1.3x (at least) | "
              f"{verdict(ratio >= 1.3)} |")


def print_zip_sizes(arguments, work_dir):
    python_size = python_zip_size(os.path.join(arguments.python_handler_dir, "price_handler.py"), arguments.python, work_dir)
    print("| deployment zip | bytes | MiB |")
    print("|---|---:|---:|")
    # arm64 zips are sized only: they run here under qemu, whose timings say nothing about Graviton.
    for architecture, command in (("x86_64", "scripts/package.sh"), ("arm64", "scripts/package.sh --arch arm64")):
        zips = zip_sizes(arguments.dist, architecture)
        for name, size in zips:
            print(f"| {name} ({architecture}) | {size:,} | {size / 1048576:.2f} |")
        if not zips:
            print(f"| Swift functions ({architecture}) | n/a | no zips: run {command} first |")
    print(f"| Python handler + redis-py (awslambdaric is in the managed runtime) | {python_size:,} | "
          f"{python_size / 1048576:.2f} |")
    print()


if __name__ == "__main__":
    main()
