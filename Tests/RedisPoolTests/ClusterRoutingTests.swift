@testable import RedisPool
import Testing

/// The cluster's pure pieces: key slots, topology replies, redirections, routing rounds, the
/// mode probe and the TLS name of a node, without sockets.
@Suite struct KeySlotTests {
    @Test func crc16IsTheXmodemVariantOfTheSpecification() {
        // Redis Cluster specification, appendix A: "Output for "123456789": 31C3".
        let check = Array("123456789".utf8).withUnsafeBufferPointer { KeySlot.crc16($0) }
        #expect(check == 0x31C3)
        #expect(Array("".utf8).withUnsafeBufferPointer { KeySlot.crc16($0) } == 0)
    }

    @Test func slotsMatchTheServersKeyslot() {
        // CLUSTER KEYSLOT's documented examples, and the slot of 123456789 (0x31C3 mod 16384).
        #expect(KeySlot.of("somekey") == 11058)
        #expect(KeySlot.of("foo{hash_tag}") == 2515)
        #expect(KeySlot.of("bar{hash_tag}") == 2515)
        #expect(KeySlot.of("123456789") == 0x31C3 % 16384)
    }

    @Test func hashTagsFollowTheSpecificationsExamples() {
        #expect(KeySlot.of("{user1000}.following") == KeySlot.of("{user1000}.followers"))
        #expect(KeySlot.of("{user1000}.following") == KeySlot.of("user1000"))
        // The first pair is empty: the whole key is hashed.
        #expect(KeySlot.of("foo{}{bar}") == crcSlot("foo{}{bar}"))
        // `{bar` is between the first { and the first } after it.
        #expect(KeySlot.of("foo{{bar}}zap") == KeySlot.of("{bar"))
        #expect(KeySlot.of("foo{bar}{zap}") == KeySlot.of("bar"))
        // No closing brace: the whole key.
        #expect(KeySlot.of("foo{bar") == crcSlot("foo{bar"))
        // The cache's own keys carry no braces: each symbol hashes apart.
        #expect(KeySlot.of("price:AAPL") == crcSlot("price:AAPL"))
    }

    private func crcSlot(_ key: String) -> Int {
        Int(Array(key.utf8).withUnsafeBufferPointer { KeySlot.crc16($0) } & 0x3FFF)
    }
}

@Suite struct ClusterTopologyTests {
    static let a = NodeAddress(host: "10.0.0.1", port: 6379)
    static let b = NodeAddress(host: "10.0.0.2", port: 6379)
    static let replica = NodeAddress(host: "10.0.0.3", port: 6379)

    private static func node(_ fields: [(String, RESPValue)]) -> [RESPValue] {
        fields.flatMap { [RESPValue.bulkString(Array($0.0.utf8)), $0.1] }
    }

    private static func text(_ value: String) -> RESPValue { .bulkString(Array(value.utf8)) }

    /// Two shards as Redis 7 answers `CLUSTER SHARDS`; `wrap` makes an array (RESP2) or a map (RESP3).
    private static func shards(_ wrap: ([RESPValue]) -> RESPValue) -> RESPValue {
        func nodeEntry(_ address: NodeAddress, role: String, endpoint: String? = nil, tlsPort: Int? = nil, health: String = "online") -> RESPValue {
            var fields: [(String, RESPValue)] = [("id", text("abc")), ("port", .integer(Int64(address.port)))]
            if let tlsPort { fields.append(("tls-port", .integer(Int64(tlsPort)))) }
            fields += [
                ("ip", text(address.host)), ("endpoint", text(endpoint ?? address.host)), ("role", text(role)),
                ("replication-offset", .integer(72156)), ("health", text(health)),
            ]
            return wrap(node(fields))
        }
        return .array([
            wrap(
                node([
                    ("slots", .array([.integer(0), .integer(5460), .integer(10923), .integer(10923)])),
                    ("nodes", .array([nodeEntry(a, role: "master", tlsPort: 7000), nodeEntry(replica, role: "replica")])),
                ])),
            wrap(
                node([
                    ("slots", .array([.integer(5461), .integer(10922), .integer(10924), .integer(16383)])),
                    ("nodes", .array([nodeEntry(b, role: "master", tlsPort: 7001)])),
                ])),
            // A shard whose only primary failed: its (empty) slots stay unassigned.
            wrap(node([("slots", .array([])), ("nodes", .array([nodeEntry(NodeAddress(host: "10.0.0.9", port: 1), role: "master", health: "failed")]))])),
        ])
    }

    @Test(arguments: [false, true]) func clusterShardsInRESP2AndRESP3(resp3: Bool) throws {
        let reply = Self.shards { resp3 ? .map($0) : .array($0) }
        let table = try ClusterTopology.fromShards(reply, seedHost: "config.example", useTLS: false)
        #expect(table.primaries == [Self.a, Self.b])
        #expect(table.replicas == [Self.replica])
        #expect(table.primary(for: 0) == Self.a)
        #expect(table.primary(for: 5460) == Self.a)
        #expect(table.primary(for: 5461) == Self.b)
        #expect(table.primary(for: 10923) == Self.a)
        #expect(table.primary(for: 16383) == Self.b)
        #expect(table.unassignedSlotCount == 0)
    }

    @Test func withTLSTheTLSPortIsUsed() throws {
        let table = try ClusterTopology.fromShards(Self.shards { .array($0) }, seedHost: "x", useTLS: true)
        #expect(table.primary(for: 0) == NodeAddress(host: "10.0.0.1", port: 7000))
        #expect(table.primary(for: 16383) == NodeAddress(host: "10.0.0.2", port: 7001))
    }

    @Test func clusterSlotsWithEmptyAndUnknownHosts() throws {
        let reply = RESPValue.array([
            .array([
                .integer(0), .integer(8191), .array([Self.text(""), .integer(7000), Self.text("id1")]),
                .array([Self.text("10.0.0.3"), .integer(7003), Self.text("id3")]),
            ]),
            .array([.integer(8192), .integer(16000), .array([Self.text("10.0.0.2"), .integer(7001), Self.text("id2")])]),
            .array([.integer(16001), .integer(16383), .array([.null, .integer(7002), Self.text("id4")])]),
        ])
        let table = try ClusterTopology.fromSlots(reply, seedHost: "seed.example")
        #expect(table.primary(for: 0) == NodeAddress(host: "seed.example", port: 7000))
        #expect(table.primary(for: 9000) == NodeAddress(host: "10.0.0.2", port: 7001))
        #expect(table.primary(for: 16001) == nil)
        #expect(table.unassignedSlotCount == 383)
        #expect(table.replicas == [NodeAddress(host: "10.0.0.3", port: 7003)])
    }

    @Test func malformedTopologiesAreProtocolErrors() {
        let shapes: [RESPValue] = [
            .integer(3),
            .array([.array([Self.text("slots")])]),
            .array([.array(Self.node([("slots", .array([.integer(0)])), ("nodes", .array([]))]))]),
            .array([.array(Self.node([("slots", .array([.integer(0), .integer(16384)])), ("nodes", .array([]))]))]),
        ]
        for shape in shapes {
            #expect(throws: RedisError.self) { try ClusterTopology.fromShards(shape, seedHost: "x", useTLS: false) }
        }
        #expect(throws: RedisError.self) { try ClusterTopology.fromSlots(.array([.array([.integer(1)])]), seedHost: "x") }
    }

    @Test func movedPatchesOneSlotOnly() {
        let table = SlotTable(ranges: [(Self.a, 0...16383)])
        let moved = table.moving(slot: 42, to: Self.b)
        #expect(moved.primary(for: 42) == Self.b)
        #expect(moved.primary(for: 41) == Self.a)
        #expect(moved.primaries == [Self.a, Self.b])
        #expect(table.primary(for: 42) == Self.a, "a value: the original is unchanged")
    }
}

@Suite struct ClusterRoutingTests {
    static let a = NodeAddress(host: "127.0.0.1", port: 7000)
    static let b = NodeAddress(host: "127.0.0.1", port: 7001)
    static let table = SlotTable(ranges: [(a, 0...8191), (b, 8192...16383)])

    private func nextRound(_ routing: inout ClusterRouting, _ table: SlotTable) throws -> ClusterRouting.Round {
        let round = routing.nextRound(table: table)
        return try #require(round)
    }

    private func error(_ text: String) -> Result<RESPValue, RedisError> { .failure(RedisError.fromReply(text)) }

    @Test func redirectionsAreParsed() {
        #expect(
            ClusterReply.classify(RedisError.fromReply("MOVED 3999 127.0.0.1:6381")) == .moved(slot: 3999, node: NodeAddress(host: "127.0.0.1", port: 6381)))
        #expect(ClusterReply.classify(RedisError.fromReply("ASK 3999 ::1:6381")) == .ask(slot: 3999, node: NodeAddress(host: "::1", port: 6381)))
        #expect(ClusterReply.classify(RedisError.fromReply("CLUSTERDOWN The cluster is down")) == .tryLater)
        #expect(ClusterReply.classify(RedisError.fromReply("TRYAGAIN Multiple keys request during rehashing")) == .tryLater)
        #expect(ClusterReply.classify(RedisError.fromReply("MOVED nonsense")) == .final)
        #expect(ClusterReply.classify(RedisError.fromReply("WRONGTYPE Operation")) == .final)
    }

    @Test func commandsAreRoutedByTheirKey() {
        #expect(CommandRouting.slot(of: RedisCommand("GET", "somekey")) == 11058)
        #expect(CommandRouting.slot(of: RedisCommand("EVALSHA", "abc", "2", "somekey", "other", "arg")) == 11058)
        #expect(CommandRouting.slot(of: RedisCommand("EVALSHA", "abc", "0", "arg")) == nil)
        #expect(CommandRouting.slot(of: RedisCommand("PING")) == nil)
    }

    @Test func oneGroupPerNodeInRequestOrder() throws {
        let slots = [100, 9000, 200, 9001]
        var routing = ClusterRouting(slots: slots)
        let round = try nextRound(&routing, Self.table)
        #expect(
            round.groups == [
                .init(node: Self.a, asking: false, indices: [0, 2]),
                .init(node: Self.b, asking: false, indices: [1, 3]),
            ])
        routing.record([.success(.integer(1)), .success(.integer(3))], for: round.groups[0])
        routing.record([.success(.integer(2)), .success(.integer(4))], for: round.groups[1])
        #expect(!routing.hasPending)
        let after = routing.nextRound(table: Self.table)
        #expect(after == nil)
        #expect(routing.results().map { try? $0.get() } == [.integer(1), .integer(2), .integer(3), .integer(4)])
    }

    @Test func movedResendsToTheNamedNodeAndAsksForARefresh() throws {
        var routing = ClusterRouting(slots: [100, 200])
        let first = try nextRound(&routing, Self.table)
        routing.record([error("MOVED 100 127.0.0.1:7001"), .success(.integer(2))], for: first.groups[0])
        #expect(routing.wantsRefresh)
        #expect(!routing.wantsBackoff)
        let moves = routing.takeMoves()
        #expect(moves.count == 1 && moves[0].slot == 100 && moves[0].node == Self.b)
        let second = try nextRound(&routing, Self.table)
        #expect(second.groups == [.init(node: Self.b, asking: false, indices: [0])])
        routing.record([.success(.integer(1))], for: second.groups[0])
        #expect(routing.results().map { try? $0.get() } == [.integer(1), .integer(2)])
    }

    @Test func askGoesOnceWithAskingAndLeavesTheTableAlone() throws {
        var routing = ClusterRouting(slots: [100])
        let first = try nextRound(&routing, Self.table)
        routing.record([error("ASK 100 127.0.0.1:7001")], for: first.groups[0])
        #expect(routing.takeMoves().isEmpty)
        #expect(!routing.wantsRefresh)
        let second = try nextRound(&routing, Self.table)
        #expect(second.groups == [.init(node: Self.b, asking: true, indices: [0])])
        routing.record([.success(.simpleString("OK"))], for: second.groups[0])
        // The next request for the slot goes to the table's owner again.
        var next = ClusterRouting(slots: [100])
        let fresh = next.nextRound(table: Self.table)
        #expect(fresh?.groups.first?.node == Self.a)
    }

    @Test func endlessRedirectionsEndWithAClearError() throws {
        var routing = ClusterRouting(slots: [100])
        for _ in 0...ClusterClient.maximumRedirections {
            let round = try nextRound(&routing, Self.table)
            routing.record([error("MOVED 100 127.0.0.1:7001")], for: round.groups[0])
        }
        #expect(!routing.hasPending)
        let failure = routing.results()[0]
        guard case .failure(let final) = failure else { Issue.record("expected a failure"); return }
        #expect(final.kind == .clusterRedirect)
        #expect(final.message.contains("still redirected"))
    }

    @Test func clusterDownAndUncoveredSlotsWaitForABackoff() throws {
        let partial = SlotTable(ranges: [(Self.a, 0...8191)])
        var routing = ClusterRouting(slots: [100, 9000])
        let first = try nextRound(&routing, partial)
        #expect(first.groups == [.init(node: Self.a, asking: false, indices: [0])])
        #expect(routing.wantsBackoff && routing.wantsRefresh)
        routing.record([error("CLUSTERDOWN The cluster is down")], for: first.groups[0])
        let second = try nextRound(&routing, Self.table)
        #expect(Set(second.groups.map(\.node)) == [Self.a, Self.b])
    }

    @Test func anUnreachableNodesRequestsMoveOnlyWhenItsSlotsDid() throws {
        var routing = ClusterRouting(slots: [100, 9000])
        let first = try nextRound(&routing, Self.table)
        let down = RedisError(.connectFailed, "cannot connect")
        routing.recordUnreachable(first.groups[0], error: down, mayResend: true)
        routing.record([.success(.integer(2))], for: first.groups[1])
        #expect(routing.wantsRefresh)
        // The refreshed table still names the dead node: the request fails with its error.
        routing.resendUnreachable(to: Self.table)
        #expect(!routing.hasPending)
        #expect(routing.results()[0].failureKind == .connectFailed)

        // A failover promoted another node for the slot: the request goes there.
        var failover = ClusterRouting(slots: [100])
        let attempt = try nextRound(&failover, Self.table)
        failover.recordUnreachable(attempt.groups[0], error: down, mayResend: true)
        failover.resendUnreachable(to: SlotTable(ranges: [(Self.b, 0...16383)]))
        let resent = failover.nextRound(table: SlotTable(ranges: [(Self.b, 0...16383)]))
        #expect(resent?.groups.first?.node == Self.b)

        // A request that may have run and is not idempotent is never sent twice.
        var once = ClusterRouting(slots: [100])
        let sent = try nextRound(&once, Self.table)
        once.recordUnreachable(sent.groups[0], error: RedisError(.timeout, "timed out"), mayResend: false)
        once.resendUnreachable(to: SlotTable(ranges: [(Self.b, 0...16383)]))
        #expect(!once.hasPending)
    }
}

@Suite struct ClusterModeTests {
    private let seed = "config.example"

    @Test func theProbeReadsTheServersAnswer() throws {
        let disabled = Result<RESPValue, RedisError>.failure(RedisError.fromReply("ERR This instance has cluster support disabled"))
        #expect(try ClusterModeProbe.afterShards(disabled, mode: .auto, seedHost: seed, useTLS: false) == .standalone)
        #expect(throws: RedisError.self) { try ClusterModeProbe.afterShards(disabled, mode: .enabled, seedHost: seed, useTLS: false) }
        let old = Result<RESPValue, RedisError>.failure(RedisError.fromReply("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP."))
        #expect(try ClusterModeProbe.afterShards(old, mode: .auto, seedHost: seed, useTLS: false) == .askSlots)
        let refused = Result<RESPValue, RedisError>.failure(RedisError.fromReply("NOPERM User has no permissions to run the 'cluster|shards' command"))
        #expect(try ClusterModeProbe.afterShards(refused, mode: .auto, seedHost: seed, useTLS: false) == .standalone)
        #expect(throws: RedisError.self) { try ClusterModeProbe.afterShards(refused, mode: .enabled, seedHost: seed, useTLS: false) }
        let empty = Result<RESPValue, RedisError>.success(.array([]))
        #expect(try ClusterModeProbe.afterShards(empty, mode: .auto, seedHost: seed, useTLS: false) == .cluster(SlotTable(ranges: [])))
    }

    @Test func theVariableIsRead() throws {
        #expect(try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "x"]).clusterMode == .auto)
        #expect(try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "x", "REDIS_CLUSTER_MODE": "Enabled"]).clusterMode == .enabled)
        #expect(try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "x", "REDIS_CLUSTER_MODE": "disabled"]).clusterMode == .disabled)
        #expect(throws: RedisError.self) { try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "x", "REDIS_CLUSTER_MODE": "yes"]) }
    }

    @Test func eachNodesTLSName() {
        // ElastiCache: nodes by IP, the configuration endpoint by name (the wildcard covers it).
        #expect(
            NodeTLSName.serverName(explicit: nil, configurationEndpoint: "clustercfg.c.abc.use1.cache.amazonaws.com", nodeHost: "10.0.0.5")
                == "clustercfg.c.abc.use1.cache.amazonaws.com")
        #expect(NodeTLSName.serverName(explicit: "cache.c.example", configurationEndpoint: "x", nodeHost: "10.0.0.5") == "cache.c.example")
        #expect(NodeTLSName.serverName(explicit: nil, configurationEndpoint: "x.example", nodeHost: "node-1.example") == "node-1.example")
        #expect(NodeTLSName.serverName(explicit: nil, configurationEndpoint: "127.0.0.1", nodeHost: "127.0.0.2") == "127.0.0.2")
    }
}

extension Result where Failure == RedisError {
    var failureKind: RedisError.Kind? {
        if case .failure(let error) = self { return error.kind }
        return nil
    }
}
