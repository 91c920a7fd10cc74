import Foundation
@testable import RedisPool
import Testing
import TestSupport

/// A rotation seen by a cluster client: every node refuses the old password at once, and the
/// credentials are read again once for the whole deployment, not once per node.
@Suite struct ClusterCredentialsTests {
    static let oldPassword = "Cluster-Old-0123456789"
    static let newPassword = "Cluster-New-0123456789"

    @Test func everyNodeUsesTheOneRefreshedPassword() throws {
        let cluster = try RedisCluster.start(primaries: 3, replicasPerPrimary: 0, password: Self.oldPassword)
        var configuration = cluster.seed.configuration(timeout: .seconds(2))
        configuration.clusterMode = .enabled
        let provider = RotatingCredentials(RedisCredentials(password: Self.oldPassword))
        let client = try RedisDeploymentClient(configuration: configuration, credentialsProvider: provider, observer: RecordingObserver())
        let keys = (0..<30).map { "rotation:\($0)" }
        let writes = try client.pipeline(keys.map { RedisCommand("SET", $0, "1") }, deadline: nil)
        #expect(writes.allSatisfy { (try? $0.get()) == .simpleString("OK") })

        let admin = RedisServer.User(name: "default", password: Self.newPassword)
        for node in cluster.nodes {
            try node.cli("ACL", "SETUSER", "default", ">" + Self.newPassword, "<" + Self.oldPassword)
        }
        provider.set(RedisCredentials(password: Self.newPassword))
        for node in cluster.nodes {
            #expect(try node.cli("CLIENT", "KILL", "USER", "default", as: admin) != "0")
        }

        let reads = try client.pipeline(keys.map { RedisCommand("GET", $0) }, deadline: nil)
        #expect(reads.allSatisfy { (try? $0.get()) == .bulkString(Array("1".utf8)) }, "\(reads.filter { (try? $0.get()) == nil })")
        #expect(provider.reads == 1, "one read for the three nodes")
        #expect(client.statistics.authRefreshes == 1)
    }
}
