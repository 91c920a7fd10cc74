import Foundation
import RedisPool
import TestSupport

/// Reads price hashes back with redis-py, as the serving layer would: each key from its slot's
/// primary asked directly (a key on the wrong shard answers `MOVED`, a mismatch), and through
/// `redis.cluster.RedisCluster`. Python reports the mismatches; nothing is compared in Swift.
enum ClusterReadBack {
    struct Report {
        let mismatches: [String]
        let keysPerPrimary: [Int: Int]
    }

    private static let script = """
        import json, sys, redis
        from redis.cluster import RedisCluster
        spec = json.load(sys.stdin)
        options = {}
        if spec["ca"]:
            options = dict(ssl=True, ssl_ca_certs=spec["ca"], ssl_check_hostname=False)
        if spec["password"]:
            options["password"] = spec["password"]
        direct = {port: redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5, **options)
                  for port in set(spec["owners"].values())}
        cluster = RedisCluster(host="127.0.0.1", port=spec["seed"], decode_responses=True, **options) if spec["viaCluster"] else None
        mismatches, per_node = [], {}
        for key, expected in spec["expected"].items():
            port = spec["owners"][key]
            per_node[port] = per_node.get(port, 0) + 1
            try:
                got = direct[port].hgetall(key)
            except Exception as error:
                got = "error: %s" % error
            if got != expected:
                mismatches.append("%s on node %d: %s" % (key, port, got))
            if cluster is not None:
                through = cluster.hgetall(key)
                if through != expected:
                    mismatches.append("%s via RedisCluster: %s" % (key, through))
        print(json.dumps({"mismatches": mismatches, "perNode": per_node}))
        """

    /// `through` maps a port nodes announce (a proxy's) to the node's real port; with one, the
    /// `RedisCluster` pass is skipped (it would go through the proxy).
    static func check(_ cluster: RedisCluster, expected updates: [ClusterEvents.Update], through: [Int: Int] = [:]) throws -> Report {
        let nodes = try cluster.clusterNodes().filter { $0.flags.contains("master") && !$0.flags.contains("fail") }
        var owners: [String: Int] = [:]
        var expected: [String: [String: String]] = [:]
        for update in updates {
            let key = "price:\(update.symbol)"
            let slot = KeySlot.of(key)
            let owner = nodes.first { $0.slots.contains { $0.contains(slot) } }?.port ?? 0
            owners[key] = through[owner] ?? owner
            expected[key] = update.storedHash
        }
        let spec: [String: Any] = [
            "ca": cluster.tls?.caCertificatePath ?? "", "password": cluster.password ?? "", "seed": cluster.seed.port,
            "viaCluster": through.isEmpty, "owners": owners, "expected": expected,
        ]
        let input = try JSONSerialization.data(withJSONObject: spec)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let result = (try? JSONSerialization.jsonObject(with: output)) as? [String: Any],
            let mismatches = result["mismatches"] as? [String], let perNode = result["perNode"] as? [String: Int]
        else {
            throw ReadBackFailure(description: "python read-back failed: \(String(decoding: errors, as: UTF8.self).suffix(1000))")
        }
        return Report(
            mismatches: mismatches, keysPerPrimary: Dictionary(uniqueKeysWithValues: perNode.compactMap { key, value in Int(key).map { ($0, value) } }))
    }
}

struct ReadBackFailure: Error, CustomStringConvertible {
    let description: String
}
