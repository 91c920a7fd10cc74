import Foundation
import Testing
import TestSupport

/// ElastiCache's failover, through the real binary: the primary endpoint is a DNS name; the
/// replica is promoted, the old primary demoted to a replica (it answers writes with `READONLY`),
/// and the name moves to the new primary. Here two redis-servers listen on 127.0.0.2 and
/// 127.0.0.3 with the same port, and the name lives in the function's own /etc/hosts (a private
/// mount namespace; `unshare` needs root, which CI has: without it these tests fail, never skip).
@Suite(.serialized) struct FailoverTests {
    static let name = "primary.cache.test"
    static let first = "127.0.0.2"
    static let second = "127.0.0.3"

    struct Pair {
        let old: RedisServer
        let new: RedisServer
        let hosts: HostsFile
        let function: FunctionProcess
    }

    /// The first primary, its replica (in sync), and the function pointed at the name.
    static func start(sourceLocation: SourceLocation = #_sourceLocation) throws -> Pair {
        _ = try FunctionProcess.unsharePath()
        let port = try freeLoopbackPort()
        let old = try RedisServer.start(RedisServer.Options(host: first), port: port)
        let new = try RedisServer.start(RedisServer.Options(extraArguments: ["--replicaof", first, String(port)], host: second), port: port)
        let hosts = try HostsFile([name: first])
        let function = try FunctionProcess(
            redisPort: port, environment: ["REDIS_ENDPOINT": name, "REDIS_TIMEOUT_MS": "1000"], hostsFile: hosts.path
        )
        let synced = waitForSync(new)
        if !synced { function.stop() }
        try #require(synced, "the replica never synced", sourceLocation: sourceLocation)
        return Pair(old: old, new: new, hosts: hosts, function: function)
    }

    static func waitForSync(_ replica: RedisServer) -> Bool {
        for _ in 0..<200 {
            if (try? replica.cli("INFO", "replication"))?.contains("master_link_status:up") == true { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    static func evalshaCalls(_ server: RedisServer) -> Int {
        let stats = (try? server.cli("INFO", "commandstats")) ?? ""
        guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last
        else { return 0 }
        return Int(calls) ?? -1
    }

    @Test func promotedReplicaTakesTheWritesWithNoFailedInvocation() async throws {
        let pair = try Self.start()
        defer { pair.function.stop() }
        let function = pair.function
        for index in 0..<10 {
            try await function.expectUpdateWritten(index, "before the flip")
        }

        // The flip, as ElastiCache does it: promote, demote, move the name.
        try pair.new.cli("REPLICAOF", "NO", "ONE")
        try pair.old.cli("REPLICAOF", Self.second, String(pair.old.port))
        try pair.hosts.point([Self.name: Self.second])
        let demotedCallsAtFlip = Self.evalshaCalls(pair.old)

        for index in 10..<30 {
            try await function.expectUpdateWritten(index, "after the flip")
        }
        #expect(try pair.new.cli("HGET", "price:FAULT", "timestamp") == "\(1_697_658_000 + 29)")
        // The one call that met READONLY on the kept connection, then never again.
        #expect(Self.evalshaCalls(pair.old) - demotedCallsAtFlip <= 1)
        #expect(try pair.old.cli("CLIENT", "LIST").contains("name=redis-pool") == false)
        let output = function.process.output()
        #expect(output.contains("Redis READONLY recovery"), "\(function.diagnostics)")
        #expect(output.contains(#""RedisReconnects":1"#), "\(function.diagnostics)")
        #expect(function.process.isRunning, "\(function.diagnostics)")
    }

    @Test func oldPrimaryKilledErrorsOnlyUntilTheNameMoves() async throws {
        let pair = try Self.start()
        defer { pair.function.stop() }
        let function = pair.function
        try await function.expectUpdateWritten(0, "warm")

        pair.old.kill()
        try pair.new.cli("REPLICAOF", "NO", "ONE")
        let whileNameIsOld = try await function.update(1)
        #expect(whileNameIsOld.errorType == "Function.RedisUnavailable", "\(whileNameIsOld.text)")

        try pair.hosts.point([Self.name: Self.second])
        for index in 2..<10 {
            try await function.expectUpdateWritten(index, "after the name moved")
        }
        #expect(try pair.new.cli("HGET", "price:FAULT", "timestamp") == "\(1_697_658_000 + 9)")
        #expect(function.process.isRunning, "\(function.diagnostics)")
    }
}
