import Foundation
import RedisPool
import Testing
import TestSupport

/// The built PriceCacheHandler, as a process, against a real Redis Cluster on loopback (three
/// primaries, three replicas): batches land on their shards, reads cross slots, redis-py's
/// `RedisCluster` reads back what was written; and while operators reshard, a primary dies, or a
/// node answers garbage or nothing, the function keeps every record it can and fails only the rest.
@Suite(.serialized) struct ClusterFunctionTests {
    /// Environment for a function reaching the cluster through `seed` (plain, auto mode).
    private static func environment(_ cluster: RedisCluster, extra: [String: String] = [:]) -> [String: String] {
        ["REDIS_ENDPOINT": "127.0.0.1", "REDIS_PORT": String(cluster.seed.port), "REDIS_SSL": "false"]
            .merging(extra) { $1 }
    }

    @Test func batchesLandOnTheirNodesAndEveryReadRouteAnswers() async throws {
        let cluster = try RedisCluster.start()
        let function = try FunctionProcess(redisPort: cluster.seed.port, environment: Self.environment(cluster))
        defer { function.stop() }

        let direct = ClusterEvents.updates(prefix: "D", timestamp: 1_700_000_001)
        let kinesis = ClusterEvents.updates(prefix: "K", timestamp: 1_700_000_002)
        let sqs = ClusterEvents.updates(prefix: "S", timestamp: 1_700_000_003)
        let directAnswer = try #require(await function.call(ClusterEvents.direct(direct)), "\(function.diagnostics)")
        #expect(directAnswer.json?["written"] as? Int == 100, "\(directAnswer.text)")
        #expect((directAnswer.json?["failures"] as? [Any])?.isEmpty == true, "\(directAnswer.text)")
        let kinesisAnswer = try #require(await function.call(ClusterEvents.kinesis(kinesis)), "\(function.diagnostics)")
        #expect(kinesisAnswer.failedItems == [], "\(kinesisAnswer.text)")
        let sqsAnswer = try #require(await function.call(ClusterEvents.sqs(sqs)), "\(function.diagnostics)")
        #expect(sqsAnswer.failedItems == [], "\(sqsAnswer.text)")

        // Each key on its slot's primary, asked directly; and redis-py's cluster client agrees.
        let report = try ClusterReadBack.check(cluster, expected: direct + kinesis + sqs)
        #expect(report.mismatches.isEmpty, "\(report.mismatches.prefix(5))")
        #expect(report.keysPerPrimary.count == 3 && report.keysPerPrimary.values.allSatisfy { $0 > 0 }, "\(report.keysPerPrimary)")

        // Reads across slots: 100 symbols in one request.
        let symbols = kinesis.map(\.symbol)
        let many = try #require(await function.call(ClusterEvents.http("GET", "/prices", query: ["symbols": symbols.joined(separator: ",")])))
        #expect(many.http?.status == 200, "\(many.text)")
        let prices = many.http?.body["prices"] as? [String: [String: String]]
        #expect(prices?.count == 100)
        #expect(prices?["K042"]?["close"] == kinesis[42].close)
        #expect((many.http?.body["missing"] as? [String]) == [])

        let one = try #require(await function.call(ClusterEvents.http("GET", "/prices/S007")))
        #expect(one.http?.status == 200 && one.http?.body["timestamp"] as? String == "1700000003", "\(one.text)")

        let watched = Array(symbols.prefix(25)) + ["ABSENT"]
        let put = try #require(
            await function.call(
                ClusterEvents.http(
                    "PUT", "/sessions/user-7", body: ClusterEvents.json(["active_symbols": watched, "websocket_connected": true]), user: "user-7")))
        #expect(put.http?.status == 200, "\(put.text)")
        let session = try #require(await function.call(ClusterEvents.http("GET", "/sessions/user-7/prices", user: "user-7")))
        #expect(session.http?.status == 200, "\(session.text)")
        #expect((session.http?.body["prices"] as? [String: Any])?.count == 25)
        #expect((session.http?.body["missing"] as? [String]) == ["ABSENT"])
    }

    @Test func overTLSWithAuthEveryNodeIsVerified() async throws {
        let certificates = try TLSCertificates.make()
        let token = "Cluster-Token-0123456789"
        let cluster = try RedisCluster.start(tls: certificates, password: token)
        // By name: the nodes announce 127.0.0.1, and their certificate is checked against the
        // configuration endpoint's name, as with ElastiCache's wildcard node certificates.
        let function = try FunctionProcess(
            redisPort: cluster.seed.port,
            environment: [
                "REDIS_ENDPOINT": "localhost", "REDIS_PORT": String(cluster.seed.port), "REDIS_SSL": "true",
                "REDIS_TLS_CA_FILE": certificates.caCertificatePath, "REDIS_AUTH_TOKEN": token, "REDIS_CLUSTER_MODE": "enabled",
            ])
        defer { function.stop() }
        let updates = ClusterEvents.updates(prefix: "T", timestamp: 1_700_000_010)
        let answer = try #require(await function.call(ClusterEvents.kinesis(updates)), "\(function.diagnostics)")
        #expect(answer.failedItems == [], "\(answer.text) \(function.diagnostics)")
        let read = try #require(await function.call(ClusterEvents.http("GET", "/prices", query: ["symbols": updates.map(\.symbol).joined(separator: ",")])))
        #expect((read.http?.body["prices"] as? [String: Any])?.count == 100, "\(read.text)")
        let report = try ClusterReadBack.check(cluster, expected: updates)
        #expect(report.mismatches.isEmpty, "\(report.mismatches.prefix(5))")
        #expect(report.keysPerPrimary.count == 3, "\(report.keysPerPrimary)")
    }

    @Test func reshardingWhileBatchesStreamLosesNothing() async throws {
        let cluster = try RedisCluster.start(nodeTimeout: .seconds(5))
        let function = try FunctionProcess(redisPort: cluster.seed.port, environment: Self.environment(cluster))
        defer { function.stop() }
        let primaries = try cluster.primaries()
        let (source, target) = (primaries[0], primaries[1])
        var timestamp = 1_700_001_000
        let warm = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "R", timestamp: timestamp))))
        #expect(warm.failedItems == [], "\(warm.text)")

        let resharding = BackgroundWork { try cluster.reshard(count: 3000, from: source, to: target) }
        var batchesDuringReshard = 0
        var failures: [String] = []
        while !resharding.isFinished || batchesDuringReshard < 3 {
            timestamp += 1
            let answer = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "R", timestamp: timestamp))))
            if answer.failedItems != [] { failures.append(answer.text) }
            batchesDuringReshard += 1
            if batchesDuringReshard > 2000 { break }
        }
        try resharding.result()
        for _ in 0..<3 {
            timestamp += 1
            let answer = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "R", timestamp: timestamp))))
            if answer.failedItems != [] { failures.append(answer.text) }
        }
        #expect(failures.isEmpty, "\(failures.count) batches failed: \(failures.prefix(2)) \(function.diagnostics)")
        let report = try ClusterReadBack.check(cluster, expected: ClusterEvents.updates(prefix: "R", timestamp: timestamp))
        #expect(report.mismatches.isEmpty, "lost or stale: \(report.mismatches.prefix(5))")
        // The function was redirected (its table was stale) and followed without failing a batch:
        // the source refused script calls for slots it no longer served (MOVED, ASK), counted as
        // rejected calls (Redis 7 leaves redirections out of its error statistics).
        let redirected = try Self.rejectedCalls("evalsha", on: source)
        #expect(redirected > 0, "no script call was redirected: the reshard did not touch the function's keys")
        print("resharding: \(batchesDuringReshard) batches during the reshard, \(redirected) script calls redirected by the source")
    }

    @Test func aKilledPrimaryFailsOnlyUntilItsReplicaIsPromoted() async throws {
        let cluster = try RedisCluster.start(nodeTimeout: .milliseconds(1000))
        let function = try FunctionProcess(redisPort: cluster.seed.port, environment: Self.environment(cluster, extra: ["REDIS_TIMEOUT_MS": "1000"]))
        defer { function.stop() }
        var timestamp = 1_700_002_000
        let warm = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "F", timestamp: timestamp))))
        #expect(warm.failedItems == [], "\(warm.text)")

        let victim = try #require(try cluster.primaries().first { $0.port != cluster.seed.port })
        victim.kill()
        let killedAt = ContinuousClock.now
        var outcomes: [Bool] = []
        while ContinuousClock.now - killedAt < .seconds(40) {
            timestamp += 1
            let answer = try #require(
                await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "F", timestamp: timestamp)), timeout: .seconds(30)))
            outcomes.append(answer.failedItems == [])
            if outcomes.suffix(3) == [true, true, true] { break }
        }
        #expect(outcomes.suffix(3) == [true, true, true], "never recovered: \(outcomes) \(function.diagnostics)")
        // Failures only before the promotion: once a batch went through whole, every later one did.
        if let firstSuccess = outcomes.firstIndex(of: true) {
            #expect(outcomes[firstSuccess...].allSatisfy { $0 }, "\(outcomes)")
        }
        #expect(function.process.isRunning, "the same process recovered: \(function.diagnostics)")
        try cluster.waitUntilHealthy()
        let report = try ClusterReadBack.check(cluster, expected: ClusterEvents.updates(prefix: "F", timestamp: timestamp))
        #expect(report.mismatches.isEmpty, "\(report.mismatches.prefix(5))")
        print("failover: \(outcomes.count) batches after the kill, \(outcomes.count { !$0 }) with failures")
    }

    @Test func aNodeAnsweringGarbageOrHangingFailsOnlyItsRecords() async throws {
        let proxyPort = try freeLoopbackPort()
        nonisolated(unsafe) var proxy: TCPProxy?
        // Node 0 (a primary) is announced at the proxy's port: clients reach it through the proxy,
        // the cluster bus and the test's own checks reach it directly.
        let cluster = try RedisCluster.start(
            nodeTimeout: .seconds(10), perNodeArguments: [0: ["--cluster-announce-port", String(proxyPort)]],
            beforeCreate: { nodes in proxy = try TCPProxy(targetPort: nodes[0].port, port: proxyPort) }
        )
        let faulty = try #require(proxy)
        defer { faulty.stop() }
        let proxied = cluster.nodes[0]
        #expect(try cluster.clusterNodes().contains { $0.port == proxyPort && $0.flags.contains("master") }, "node 0 is a primary")
        let function = try FunctionProcess(
            redisPort: cluster.nodes[1].port,
            environment: [
                "REDIS_ENDPOINT": "127.0.0.1", "REDIS_PORT": String(cluster.nodes[1].port), "REDIS_SSL": "false",
                "REDIS_TIMEOUT_MS": "500", "AWS_LAMBDA_LOG_LEVEL": "WARN",
            ])
        defer { function.stop() }

        var timestamp = 1_700_003_000
        let warm = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "G", timestamp: timestamp))))
        #expect(warm.failedItems == [], "\(warm.text) \(function.diagnostics)")

        let proxiedSlots = try cluster.clusterNodes().first { $0.port == proxyPort }?.slots ?? []
        #expect(!proxiedSlots.isEmpty, "the proxied primary is announced at the proxy's port")
        for mode in [TCPProxy.Mode.garbage, .hang] {
            faulty.mode = mode
            timestamp += 1
            let updates = ClusterEvents.updates(prefix: "G", timestamp: timestamp)
            let faultyIndices = updates.indices.filter { index in
                let slot = KeySlot.of("price:\(updates[index].symbol)")
                return proxiedSlots.contains { $0.contains(slot) }
            }
            let onFaultyNode = Set(faultyIndices.map { ClusterEvents.kinesisSequence($0, updates[$0]) })
            let sent = ContinuousClock.now
            let requestID = function.api.invoke(ClusterEvents.kinesis(updates), deadlineIn: .seconds(4))
            let api = function.api
            let waited = await onOwnThread { api.answer(to: requestID, timeout: .seconds(10)) }
            let answer = try #require(waited)
            #expect(answer.receivedAt - sent < .seconds(4), "\(mode): answered after the deadline")
            #expect(Set(answer.failedItems ?? ["not a partial batch response"]) == onFaultyNode, "\(mode): \(answer.text)")
            #expect(!onFaultyNode.isEmpty && onFaultyNode.count < 100)
            let expectedKind = mode == .garbage ? "protocolError" : "timeout"
            #expect(function.process.output().contains(expectedKind), "\(mode): a typed error in the log: \(function.diagnostics)")
            // The other shards' records were written.
            let written = updates.indices.filter { !faultyIndices.contains($0) }.map { updates[$0] }
            let report = try ClusterReadBack.check(cluster, expected: written, through: [proxyPort: proxied.port])
            #expect(report.mismatches.isEmpty, "\(mode): \(report.mismatches.prefix(3))")
        }

        faulty.mode = .forward
        timestamp += 1
        let healed = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "G", timestamp: timestamp))))
        #expect(healed.failedItems == [], "recovers without a restart: \(healed.text)")
    }

    @Test func aBatchIsOneScriptCallPerPrimary() async throws {
        let cluster = try RedisCluster.start()
        let function = try FunctionProcess(redisPort: cluster.seed.port, environment: Self.environment(cluster))
        defer { function.stop() }
        // The first batch loads the script on each node (EVALSHA, NOSCRIPT, EVAL); the count starts after it.
        let warm = try #require(await function.call(ClusterEvents.kinesis(ClusterEvents.updates(prefix: "N", timestamp: 1_700_004_000))))
        #expect(warm.failedItems == [], "\(warm.text)")
        let primaries = try cluster.primaries()
        for primary in primaries { _ = try primary.cli("CONFIG", "RESETSTAT") }

        let updates = ClusterEvents.updates(prefix: "N", timestamp: 1_700_004_001)
        let answer = try #require(await function.call(ClusterEvents.kinesis(updates)), "\(function.diagnostics)")
        #expect(answer.failedItems == [], "\(answer.text)")
        let report = try ClusterReadBack.check(cluster, expected: updates)
        #expect(report.mismatches.isEmpty, "\(report.mismatches.prefix(5))")
        let nodes = try cluster.clusterNodes()
        for primary in primaries {
            let ranges = nodes.first { $0.port == primary.port }?.slots ?? []
            let slotsHere = Set(updates.map { KeySlot.of("price:\($0.symbol)") }.filter { slot in ranges.contains { $0.contains(slot) } })
            let keysHere = updates.filter { slotsHere.contains(KeySlot.of("price:\($0.symbol)")) }
            #expect(slotsHere.count > 20, "the batch spans many slots of \(primary.port): \(slotsHere.count)")
            let scriptCalls = try Self.commandStat("evalsha", "calls", on: primary) + Self.commandStat("eval", "calls", on: primary)
            #expect(scriptCalls == 1, "\(keysHere.count) records in \(slotsHere.count) slots on \(primary.port): \(scriptCalls) script calls")
        }
    }

    @Test func aSlotHalfMigratedLosesNoRecord() async throws {
        let cluster = try RedisCluster.start()
        let function = try FunctionProcess(redisPort: cluster.seed.port, environment: Self.environment(cluster))
        defer { function.stop() }
        let primaries = try cluster.primaries()
        let (source, target) = (primaries[0], primaries[1])
        // Six symbols of one slot of the source: two will be on the target when the batch
        // comes, three still on the source, one on neither (new).
        let ownSlots = try #require(try cluster.clusterNodes().first { $0.port == source.port }?.slots.first)
        let slot = ownSlots.lowerBound
        let sameSlot = Array((0..<2_000_000).lazy.map { "Q\($0)" }.filter { KeySlot.of("price:\($0)") == slot }.prefix(6))
        try #require(sameSlot.count == 6)
        let symbols = ClusterEvents.updates(prefix: "H", timestamp: 0).map(\.symbol) + sameSlot
        func batch(_ timestamp: Int) -> [ClusterEvents.Update] { symbols.map { ClusterEvents.Update(symbol: $0, timestamp: timestamp) } }
        let first = batch(1_700_005_000).filter { $0.symbol != sameSlot[5] }
        let warm = try #require(await function.call(ClusterEvents.kinesis(first)))
        #expect(warm.failedItems == [], "\(warm.text)")

        // The slot half migrated, as `redis-cli --cluster reshard` leaves it between two MIGRATEs.
        _ = try target.cli("CLUSTER", "SETSLOT", String(slot), "IMPORTING", try cluster.nodeID(of: source))
        _ = try source.cli("CLUSTER", "SETSLOT", String(slot), "MIGRATING", try cluster.nodeID(of: target))
        _ = try source.cli(["MIGRATE", target.host, String(target.port), "", "0", "5000", "KEYS"] + sameSlot[0..<2].map { "price:\($0)" })
        for primary in primaries { _ = try primary.cli("CONFIG", "RESETSTAT") }

        let updates = batch(1_700_005_001)
        let answer = try #require(await function.call(ClusterEvents.kinesis(updates)), "\(function.diagnostics)")
        #expect(answer.failedItems == [], "\(answer.text) \(function.diagnostics)")
        // The three keys gone from the source were written on the target, after ASK.
        #expect(try Self.commandStat("asking", "calls", on: target) >= 3)
        #expect(try target.cli("CLUSTER", "COUNTKEYSINSLOT", String(slot)) == "3")
        #expect(try source.cli("CLUSTER", "COUNTKEYSINSLOT", String(slot)) == "3")

        // The move ends; every record, on either side before, is the batch's.
        _ = try source.cli(["MIGRATE", target.host, String(target.port), "", "0", "5000", "KEYS"] + sameSlot[2..<5].map { "price:\($0)" })
        for primary in primaries {
            _ = try primary.cli("CLUSTER", "SETSLOT", String(slot), "NODE", try cluster.nodeID(of: target))
        }
        try cluster.waitUntilHealthy()
        let report = try ClusterReadBack.check(cluster, expected: updates)
        #expect(report.mismatches.isEmpty, "lost or stale: \(report.mismatches.prefix(5))")
    }

    /// `rejected_calls` of a command in `INFO commandstats`: calls refused before running,
    /// cluster redirections among them.
    private static func rejectedCalls(_ command: String, on node: RedisServer) throws -> Int {
        try commandStat(command, "rejected_calls", on: node)
    }

    /// One field of a command's line in `INFO commandstats`; 0 when the command never ran.
    private static func commandStat(_ command: String, _ field: String, on node: RedisServer) throws -> Int {
        let info = try node.cli("INFO", "commandstats")
        // redis-cli ends INFO lines with CRLF, one Character in Swift: split on any newline.
        // A line reads `cmdstat_evalsha:calls=3,usec=...,rejected_calls=0,failed_calls=0`.
        let prefix = "cmdstat_\(command):"
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(prefix) }),
            let value = line.dropFirst(prefix.count).split(separator: ",").first(where: { $0.hasPrefix("\(field)=") })
        else { return 0 }
        return Int(value.dropFirst(field.count + 1).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}

/// Work on a thread of its own (a `redis-cli --cluster reshard`), polled while the test goes on.
private final class BackgroundWork: @unchecked Sendable {
    private let lock = NSLock()
    private var outcome: Result<Void, Error>?

    init(_ work: @escaping @Sendable () throws -> Void) {
        Thread { [self] in
            let result = Result { try work() }
            lock.withLock { outcome = result }
        }.start()
    }

    var isFinished: Bool { lock.withLock { outcome != nil } }

    /// Waits for the end and rethrows the work's error.
    func result() throws {
        while !isFinished { Thread.sleep(forTimeInterval: 0.05) }
        try lock.withLock { outcome }?.get()
    }
}
