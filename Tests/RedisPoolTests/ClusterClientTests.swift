import Foundation
@testable import RedisPool
import Testing
import TestSupport

/// `ClusterClient` and `RedisDeploymentClient` against a real three-primary, three-replica Redis
/// Cluster on loopback (the function-level runs, resharding and failover are in FaultTests).
@Suite(.serialized) final class ClusterClientTests {
    let cluster: RedisCluster

    init() throws {
        cluster = try RedisCluster.start()
    }

    private func configuration(_ mode: ClusterMode = .enabled) -> RedisConfiguration {
        var configuration = cluster.seed.configuration(timeout: .seconds(2))
        configuration.clusterMode = mode
        return configuration
    }

    @Test func keySlotsAgreeWithTheServer() throws {
        var generator = SplitMix64(seed: 12)
        let alphabet = Array("ab{}:xyz01")
        for _ in 0..<60 {
            let length = Int(generator.next() % 12) + 1
            var key = String((0..<length).map { _ in alphabet[Int(generator.next() % 10)] })
            key += "k"
            #expect(KeySlot.of(key) == (try cluster.slot(of: key)), "\(key)")
        }
    }

    @Test func theTopologyNamesEveryPrimaryAndCoversEverySlot() throws {
        let client = try ClusterClient(configuration: configuration())
        try client.refreshTopology()
        let table = try #require(client.slotTable)
        #expect(table.unassignedSlotCount == 0)
        #expect(Set(table.primaries.map(\.port)) == Set(try cluster.primaries().map(\.port)))
        #expect(table.replicas.count == 3)
    }

    @Test func aPipelineAcrossSlotsGoesToEachKeysNode() throws {
        let client = try RedisDeploymentClient(configuration: configuration(.auto))
        let keys = (0..<50).map { "pipeline:\($0)" }
        let writes = try client.pipeline(keys.map { RedisCommand("SET", $0, "v-\($0)") }, deadline: nil)
        #expect(writes.allSatisfy { (try? $0.get()) == .simpleString("OK") })
        #expect(client.isCluster == true, "auto mode found the cluster")
        let reads = try client.pipeline(keys.map { RedisCommand("GET", $0) }, deadline: nil)
        #expect(reads.map { try? $0.get().stringValue } == keys.map { "v-\($0)" })
        for key in keys.prefix(10) {
            #expect(try cluster.node(owning: key).cli("GET", key) == "v-\(key)", "stored on the slot's own primary")
        }
        // Every primary holds some of them: the keys really were spread.
        for primary in try cluster.primaries() {
            #expect(Int(try primary.cli("DBSIZE")) ?? 0 > 0)
        }
    }

    @Test func aStaleTableFollowsMovedAndRefreshes() throws {
        let client = try ClusterClient(configuration: configuration())
        let key = "moving-key"
        _ = try client.command(RedisCommand("SET", key, "1"))
        // Move the key's slot to another primary behind the client's back.
        let source = try cluster.node(owning: key)
        let target = try #require(try cluster.primaries().first { $0.port != source.port })
        let slot = KeySlot.of(key)
        let targetID = try cluster.nodeID(of: target)
        try target.cli("CLUSTER", "SETSLOT", String(slot), "IMPORTING", try cluster.nodeID(of: source))
        try source.cli("CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID)
        // While migrating, a key not yet moved is still answered by the source; a new key is ASKed.
        #expect(try client.command(RedisCommand("SET", "moving-key-new{\(key)}", "x")) == .simpleString("OK"))
        try source.cli("MIGRATE", target.host, String(target.port), "", "0", "5000", "KEYS", key, "moving-key-new{\(key)}")
        for node in try cluster.primaries() {
            try node.cli("CLUSTER", "SETSLOT", String(slot), "NODE", targetID)
        }
        #expect(try target.cli("GET", "moving-key-new{\(key)}") == "x", "the ASK went to the importing node")
        #expect(try client.command(RedisCommand("GET", key)) == .bulkString(Array("1".utf8)))
        #expect(client.slotTable?.primary(for: slot)?.port == target.port, "MOVED patched the table")
    }
}

/// The same over TLS with a password: every node's certificate checked, AUTH on every node.
@Suite(.serialized) final class ClusterTLSClientTests {
    @Test func everyNodeIsReachedOverVerifiedTLSWithAuth() throws {
        let certificates = try TLSCertificates.make()
        let password = "Cluster-Token-0123456789"
        let cluster = try RedisCluster.start(tls: certificates, password: password)
        // The nodes announce 127.0.0.1; the configuration endpoint is a name, which the node
        // certificates carry (as ElastiCache's carry the cluster's wildcard name).
        var configuration = RedisConfiguration(
            endpoint: "localhost", port: cluster.seed.port, useTLS: true, tlsCAFile: certificates.caCertificatePath,
            authToken: password, timeout: .seconds(2)
        )
        configuration.clusterMode = .enabled
        let client = try RedisDeploymentClient(configuration: configuration)
        let keys = (0..<30).map { "tls:\($0)" }
        let writes = try client.pipeline(keys.map { RedisCommand("SET", $0, "x") }, deadline: nil)
        #expect(writes.allSatisfy { (try? $0.get()) == .simpleString("OK") }, "\(writes)")

        // A certificate that does not name the configuration endpoint is refused on every node.
        var wrongName = configuration
        wrongName.tlsServerName = "not-the-cluster.example"
        let refused = try ClusterClient(configuration: wrongName)
        #expect(throws: RedisError.self) { try refused.command(RedisCommand("GET", "tls:1")) }
    }
}

/// The mode choice against a single primary (cluster support disabled).
@Suite struct DeploymentModeTests {
    @Test func autoModeOnASinglePrimaryStaysStandaloneOnOneConnection() throws {
        let server = try RedisServer.start()
        let client = try RedisDeploymentClient(configuration: server.configuration())
        #expect(client.isCluster == nil, "undecided before the first request")
        #expect(try client.command(RedisCommand("SET", "a", "1"), deadline: nil) == .simpleString("OK"))
        #expect(client.isCluster == false)
        #expect(try client.routesBySlot(deadline: nil) == false)
        // The probe's connection is the one the commands use.
        #expect(try server.cli("CLIENT", "LIST").split(whereSeparator: \.isNewline).count == 2)  // the client and redis-cli
    }

    @Test func enabledModeOnASinglePrimaryIsAConfigurationError() throws {
        let server = try RedisServer.start()
        var configuration = server.configuration()
        configuration.clusterMode = .enabled
        let client = try RedisDeploymentClient(configuration: configuration)
        let error = #expect(throws: RedisError.self) { try client.command(RedisCommand("GET", "a"), deadline: nil) }
        #expect(error?.kind == .configuration, "\(String(describing: error))")
    }

    @Test func anUnreachableEndpointDecidesNothing() throws {
        let server = try RedisServer.start()
        let client = try RedisDeploymentClient(configuration: server.configuration(timeout: .milliseconds(300)))
        server.kill()
        #expect(throws: RedisError.self) { try client.command(RedisCommand("PING"), deadline: .now + .seconds(1)) }
        #expect(client.isCluster == nil)
        try server.restart()
        #expect(try client.command(RedisCommand("PING"), deadline: nil) == .simpleString("PONG"))
        #expect(client.isCluster == false)
    }
}
