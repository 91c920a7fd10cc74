#!/usr/bin/env python3
"""A/B of two PriceCacheHandler builds on the 100-record Kinesis batch against a three-primary
cluster, beside the first build against one node: how ClusterClient's node fan-out was chosen
(BENCHMARKS.md, "Cluster mode"). Not part of scripts/bench.sh.

usage: cluster_fanout_ab.py --server .build-bench/runtime-api-server --a BIN --b BIN [--hop] [--rounds N]

--hop puts a forwarding proxy (one Python process per node) in front of every node, the cluster's
nodes announcing the proxies' ports, so each exchange pays a network hop as on a real network.
Builds: A one node after another (commit 6e9bb20), B the nodes at the same time (later commits).
"""
import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def proxy(listen, target):
    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(reader, writer):
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target)
        for stream in (writer, upstream_writer):
            stream.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", listen)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--proxy":
        proxy(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--hop", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    work = tempfile.mkdtemp(prefix="cluster-ab-")
    single, single_port = bench.start_redis(work)
    cluster, cluster_ports = bench.start_cluster(work)
    proxies = []
    reach = [single_port] + cluster_ports
    if arguments.hop:
        reach = [bench.free_port() for _ in range(4)]
        for listen, target in zip(reach, [single_port] + cluster_ports):
            proxies.append(subprocess.Popen([sys.executable, __file__, "--proxy", str(listen), str(target)],
                                            stdout=subprocess.PIPE, text=True))
            proxies[-1].stdout.readline()
        for port, announced in zip(cluster_ports, reach[1:]):
            subprocess.run(["redis-cli", "-p", str(port), "config", "set", "cluster-announce-port", str(announced)],
                           check=True, capture_output=True)
        time.sleep(2)  # the new ports spread by gossip
    event = os.path.join(work, "kinesis-100.json")
    with open(event, "w") as out:
        json.dump(bench.kinesis_batch(bench.BATCH_SIZE), out)
    environment = dict(os.environ, REDIS_ENDPOINT="127.0.0.1", REDIS_PORT=str(reach[0]), REDIS_SSL="false",
                       AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                       AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_REGION="us-east-1")
    on_cluster = {"REDIS_PORT": str(reach[1]), "REDIS_CLUSTER_MODE": "enabled"}
    rows = [
        bench.Row("single", "A, one node", [arguments.a], event, 300, redis_ports=[single_port]),
        bench.Row("a", "A, 3-primary cluster", [arguments.a], event, 300, environment=on_cluster, redis_ports=cluster_ports),
        bench.Row("b", "B, 3-primary cluster", [arguments.b], event, 300, environment=on_cluster, redis_ports=cluster_ports),
    ]
    try:
        for round_index in range(arguments.rounds):
            for row in rows[round_index % 3:] + rows[:round_index % 3]:
                result, failure = bench.run_row(row, arguments.server, os.path.join(work, row.key + ".log"), environment,
                                                single_port)
                if failure:
                    sys.exit(f"{row.label}: {failure}")
                row.results.append(result)
        for row in rows:
            print(f"{row.label}: p50 {row.median('p50_us'):.0f} us, Redis busy {row.median('redis_us'):.0f} us/inv, "
                  f"rounds {[round(result['p50_us']) for result in row.results]}")
    finally:
        for process in proxies + [single, *cluster]:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
