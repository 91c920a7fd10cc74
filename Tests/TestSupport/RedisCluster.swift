import Foundation

/// A real Redis Cluster on loopback for tests: `RedisServer`s started with `--cluster-enabled yes`
/// on free ports (and a free cluster bus port each), joined by `redis-cli --cluster create
/// --cluster-replicas N --cluster-yes`; plain or TLS-only (`tls-cluster` and `tls-replication`
/// on, so the bus and the replication links are encrypted too), with an optional password.
///
/// Faults and operations go through the same tools an operator would use: `redis-cli --cluster
/// reshard`, killing a primary (`RedisServer.kill()`) and waiting for its replica's promotion
/// (`cluster-node-timeout` is short here). Every server stops when the object goes away.
public final class RedisCluster: @unchecked Sendable {
    public let nodes: [RedisServer]
    public let tls: TLSCertificates?
    public let password: String?

    /// Starts `primaries × (1 + replicasPerPrimary)` servers and creates the cluster; the first
    /// `primaries` servers are the primaries. `perNodeArguments` adds arguments to one server
    /// (`--cluster-announce-port`, say); `beforeCreate` runs once every server is up.
    public static func start(
        primaries: Int = 3,
        replicasPerPrimary: Int = 1,
        tls: TLSCertificates? = nil,
        password: String? = nil,
        nodeTimeout: Duration = .milliseconds(1000),
        perNodeArguments: [Int: [String]] = [:],
        beforeCreate: ([RedisServer]) throws -> Void = { _ in }
    ) throws -> RedisCluster {
        var nodes: [RedisServer] = []
        let milliseconds = nodeTimeout.components.seconds * 1000 + nodeTimeout.components.attoseconds / 1_000_000_000_000_000
        for index in 0..<(primaries * (1 + replicasPerPrimary)) {
            var arguments = [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", String(milliseconds), "--cluster-port", String(try freeLoopbackPort()),
            ]
            if tls != nil { arguments += ["--tls-cluster", "yes", "--tls-replication", "yes"] }
            if let password { arguments += ["--masterauth", password] }
            arguments += perNodeArguments[index] ?? []
            nodes.append(try RedisServer.start(RedisServer.Options(password: password, tls: tls, extraArguments: arguments)))
        }
        let cluster = RedisCluster(nodes: nodes, tls: tls, password: password)
        try beforeCreate(nodes)
        // The first `primaries` nodes given become the primaries (one host: redis-cli keeps the order).
        try nodes[0].cli(
            ["--cluster", "create"] + nodes.map { "\($0.host):\($0.port)" }
                + ["--cluster-replicas", String(replicasPerPrimary), "--cluster-yes"])
        // A replica attaches (and syncs) after the create returns; a failover needs it in place.
        try cluster.waitUntilHealthy(replicas: primaries * replicasPerPrimary)
        return cluster
    }

    private init(nodes: [RedisServer], tls: TLSCertificates?, password: String?) {
        self.nodes = nodes
        self.tls = tls
        self.password = password
    }

    deinit {
        for node in nodes { node.kill() }
    }

    /// Nodes still running.
    public var liveNodes: [RedisServer] {
        nodes.filter { $0.processIdentifier != nil }
    }

    /// The first live node: a configuration endpoint for the client under test.
    public var seed: RedisServer {
        liveNodes.first ?? nodes[0]
    }

    /// The live primaries that serve slots, as a live node sees the cluster now.
    public func primaries() throws -> [RedisServer] {
        let owners = try slotOwners()
        return liveNodes.filter { node in owners.contains(node.port) }
    }

    /// The server that serves `key`'s slot.
    public func node(owning key: String) throws -> RedisServer {
        let slot = try slot(of: key)
        let lines = try clusterNodes()
        for line in lines where line.flags.contains("master") && !line.flags.contains("fail") {
            if line.slots.contains(where: { $0.contains(slot) }), let node = nodes.first(where: { $0.port == line.port }) {
                return node
            }
        }
        throw RedisServer.Failure.commandFailed("no primary serves slot \(slot)")
    }

    /// `CLUSTER KEYSLOT`, as the server computes it.
    public func slot(of key: String) throws -> Int {
        guard let slot = Int(try seed.cli("CLUSTER", "KEYSLOT", key)) else {
            throw RedisServer.Failure.commandFailed("CLUSTER KEYSLOT \(key)")
        }
        return slot
    }

    public func nodeID(of node: RedisServer) throws -> String {
        try node.cli("CLUSTER", "MYID")
    }

    /// Moves `count` slots from one primary to another with `redis-cli --cluster reshard`,
    /// keys included (MIGRATE), as an operator scales a cluster.
    public func reshard(count: Int, from source: RedisServer, to target: RedisServer) throws {
        try seed.cli([
            "--cluster", "reshard", "\(seed.host):\(seed.port)",
            "--cluster-from", try nodeID(of: source), "--cluster-to", try nodeID(of: target),
            "--cluster-slots", String(count), "--cluster-yes",
        ])
    }

    /// Waits until every live node says `cluster_state:ok`, every slot is served by a live
    /// primary (after a create, or after a failover promoted a replica), and at least `replicas`
    /// replicas have their replication link up.
    public func waitUntilHealthy(replicas: Int = 0, timeout: Duration = .seconds(30)) throws {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            do {
                let states = try liveNodes.map { try $0.cli("CLUSTER", "INFO") }
                let owners = try slotOwners(requireFullCoverage: true)
                let linked = try liveNodes.count { try $0.cli("INFO", "replication").contains("master_link_status:up") }
                if states.allSatisfy({ $0.contains("cluster_state:ok") }), !owners.isEmpty, linked >= replicas { return }
                last = states.first { !$0.contains("cluster_state:ok") } ?? (owners.isEmpty ? "slots not all served" : "\(linked) replicas linked")
            } catch {
                last = "\(error)"
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw RedisServer.Failure.commandFailed("the cluster did not become healthy: \(last.prefix(300))")
    }

    // MARK: - CLUSTER NODES

    public struct NodeLine: Sendable {
        /// The port the node announces (its own, or a proxy's).
        public let port: Int
        public let flags: Set<String>
        public let slots: [ClosedRange<Int>]
    }

    /// `CLUSTER NODES` of a live node: `id ip:port@bus flags master ping pong epoch state slots...`.
    public func clusterNodes() throws -> [NodeLine] {
        try seed.cli("CLUSTER", "NODES").split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 8 else { return nil }
            let address = fields[1].split(separator: "@")[0]
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
            let slots = fields.dropFirst(8).compactMap { field -> ClosedRange<Int>? in
                guard !field.hasPrefix("[") else { return nil }  // a slot being migrated or imported
                let bounds = field.split(separator: "-").compactMap { Int($0) }
                guard let low = bounds.first, let high = bounds.last else { return nil }
                return low...high
            }
            return NodeLine(port: port, flags: Set(fields[2].split(separator: ",").map(String.init)), slots: slots)
        }
    }

    /// Ports of the primaries serving slots (empty when `requireFullCoverage` and some slot is not
    /// served by a primary that is up).
    private func slotOwners(requireFullCoverage: Bool = false) throws -> Set<Int> {
        let serving = try clusterNodes().filter { $0.flags.contains("master") && !$0.flags.contains("fail") && !$0.slots.isEmpty }
        if requireFullCoverage {
            let covered = serving.reduce(0) { $0 + $1.slots.reduce(0) { $0 + $1.count } }
            guard covered == 16_384 else { return [] }
        }
        return Set(serving.map(\.port))
    }
}
