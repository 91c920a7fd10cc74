import LambdaEvents
import RedisPool
import Testing
import TestSupport
@testable import PriceCache

/// The store against a real redis-server: TTLs, latest wins, per-write failures, reads.
@Suite(.serialized) final class CacheStoreTests: StoreOnRedisServer {
    private func price(_ symbol: String, close: String, timestamp: Int) throws -> PriceUpdate {
        try PriceUpdate(
            json: .object([
                "symbol": .string(symbol), "close": .string(close), "open": .string("1"), "high": .string("1"),
                "low": .string("1"), "volume": .string("1"), "timestamp": .integer(timestamp),
            ]))
    }

    private func signal(_ direction: String, timestamp: Int) throws -> TradingSignal {
        try TradingSignal(
            json: JSONParser.parse(
                Array(#"{"symbol":"AAPL","strategy_id":"momentum","signal":"\#(direction)","confidence":0.5,"timestamp":"\#(timestamp)","price":"1"}"#.utf8)))
    }

    private func ttl(_ key: String) throws -> Int {
        Int(try client.command(RedisCommand("TTL", key)).integerValue ?? -3)
    }

    @Test func everyFamilyIsWrittenWithItsTTL() throws {
        let userID = try Identifier("user-1", field: "user_id")
        let writes = [
            try price("AAPL", close: "1", timestamp: 10).cacheWrite,
            try signal("buy", timestamp: 10).cacheWrite,
            try AlertStatus(json: .object(["alert_id": .string("a-1"), "status": .string("pending")])).cacheWrite,
            try SessionUpdate(userID: userID, json: .object([]), now: EpochSeconds(seconds: 10)).cacheWrite,
        ]
        #expect(try store.write(writes, deadline: nil).map { try $0.get() } == [.written, .written, .written, .written])
        for (key, family) in [
            ("price:AAPL", KeyFamily.price), ("signal:AAPL:momentum", .signal), ("alert:status:a-1", .alertStatus), ("session:user-1", .session),
        ] {
            let remaining = try ttl(key)
            #expect((family.ttlSeconds - 2...family.ttlSeconds).contains(remaining), "\(key) has TTL \(remaining)")
        }
    }

    @Test func interleavedShapesAndFieldSetsInOneCallEachReadBackExactly() throws {
        let userID = try Identifier("user-2", field: "user_id")
        let fullSession = try SessionUpdate(
            userID: userID,
            json: .object([
                "active_symbols": .string("AAPL,MSFT"), "websocket_connected": .bool(true), "last_active": .integer(7),
            ]), now: EpochSeconds(seconds: 10))
        let otherUserID = try Identifier("user-3", field: "user_id")
        let bareSession = try SessionUpdate(userID: otherUserID, json: .object([:]), now: EpochSeconds(seconds: 11))
        let writes = [
            try price("IA", close: "1.5", timestamp: 10).cacheWrite,
            try price("IB", close: "2.5", timestamp: 10).cacheWrite,
            fullSession.cacheWrite,
            bareSession.cacheWrite,
            try signal("sell", timestamp: 10).cacheWrite,
            try price("IC", close: "3.5", timestamp: 10).cacheWrite,
        ]
        #expect(try store.write(writes, deadline: nil).map { try $0.get() } == Array(repeating: .written, count: 6))
        let hashes = try store.hashes(["price:IA", "price:IB", "session:user-2", "session:user-3", "price:IC"], deadline: nil)
        #expect(hashes[0]?.first { $0.field == "close" }?.value == "1.5")
        #expect(hashes[1]?.first { $0.field == "close" }?.value == "2.5")
        #expect(hashes[2]?.map { "\($0.field)=\($0.value)" }.sorted() == ["active_symbols=AAPL,MSFT", "last_active=7", "websocket_connected=true"])
        #expect(hashes[3]?.map { "\($0.field)=\($0.value)" } == ["last_active=11"])
        #expect(
            hashes[4]?.map { "\($0.field)=\($0.value)" } == [
                "close=3.5", "open=1", "high=1", "low=1", "volume=1", "timestamp=10", "source=speed_layer",
            ])
        #expect(try store.strings(["signal:AAPL:momentum"], deadline: nil).first??.contains(#""signal":"sell""#) == true)
        for key in ["price:IA", "price:IC", "session:user-2", "session:user-3", "signal:AAPL:momentum"] {
            #expect(try ttl(key) > 0, "\(key) has no TTL")
        }
    }

    @Test func consecutiveWritesOfOneShapeShareTheirGroupHeader() throws {
        let writes = [
            try price("GA", close: "1", timestamp: 5).cacheWrite,
            try price("GB", close: "2", timestamp: 6).cacheWrite,
            try AlertStatus(json: .object(["alert_id": .string("a-9"), "status": .string("disabled")])).cacheWrite,
        ]
        let call = CacheWrite.scriptCall(for: writes[...])
        #expect(call.keys.map { String(decoding: $0, as: UTF8.self) } == ["price:GA", "price:GB", "alert:status:a-9"])
        #expect(
            call.arguments.map { String(decoding: $0, as: UTF8.self) } == [
                "hash", "300", "7", "close", "open", "high", "low", "volume", "timestamp", "source", "2",
                "5", "1", "1", "1", "1", "1", "5", "speed_layer",
                "6", "2", "1", "1", "1", "1", "6", "speed_layer",
                "string", "86400", "0", "1",
                "", "disabled",
            ])
    }

    /// The cluster's per-node script (`CacheWrite.nodeScript`: keys in ARGV, the first declared)
    /// answers what the script answers for the same writes: latest wins, a refused write alone.
    @Test func theNodeScriptWritesAsTheScriptDoes() throws {
        _ = try client.command(RedisCommand("SET", "price:NWRONG", "a string, not a hash"))
        let writes = [
            try price("NA", close: "2", timestamp: 20).cacheWrite,
            try price("NA", close: "1", timestamp: 19).cacheWrite,
            try price("NWRONG", close: "1", timestamp: 1).cacheWrite,
            try signal("buy", timestamp: 50).cacheWrite,
            try price("NB", close: "3", timestamp: 30).cacheWrite,
        ]
        let call = CacheWrite.nodeScriptCall(for: writes[...])
        let plain = CacheWrite.scriptCall(for: writes[...])
        #expect(call.keys == [Array("price:NA".utf8)])
        #expect(call.arguments == [Array("5".utf8)] + plain.keys + plain.arguments)
        let reply = try client.runPipelined(CacheWrite.nodeScript, calls: [call], deadline: nil)[0]
        let outcomes = CacheStore.outcomes(of: reply, writeCount: writes.count)
        #expect(try outcomes[0].get() == .written)
        #expect(try outcomes[1].get() == .stale)
        #expect((try? outcomes[2].get()) == nil)
        #expect(try outcomes[3].get() == .written)
        #expect(try outcomes[4].get() == .written)
        let cached = try store.hashes(["price:NA", "price:NB"], deadline: nil)
        #expect(cached[0]?.first { $0.field == "close" }?.value == "2")
        #expect(cached[1]?.first { $0.field == "close" }?.value == "3")
        #expect(try ttl("price:NB") > 0)
    }

    /// What the cluster's node call hands to the one-per-call path: server answers (a key not
    /// served there, a redirection, OOM) but never a lost node, whose deadline is already spent;
    /// and which answers mean the server cannot run a script with flags at all (before Redis 7).
    @Test func whichNodeScriptFailuresAreWrittenAgainBySlot() {
        #expect(CacheStore.isRewrittenBySlot(RedisError.fromReply("ERR Script attempted to access a non local key in a cluster node")))
        #expect(CacheStore.isRewrittenBySlot(RedisError.fromReply("ASK 4813 127.0.0.1:7001")))
        #expect(CacheStore.isRewrittenBySlot(RedisError.fromReply("TRYAGAIN Multiple keys request during rehashing of slot")))
        #expect(CacheStore.isRewrittenBySlot(RedisError.fromReply("OOM command not allowed when used memory > 'maxmemory'.")))
        #expect(!CacheStore.isRewrittenBySlot(RedisError(.timeout, "no reply within 500 ms")))
        #expect(!CacheStore.isRewrittenBySlot(RedisError(.protocolError, "garbage")))
        #expect(!CacheStore.isRewrittenBySlot(RedisError(.connectFailed, "refused")))
        #expect(CacheStore.refusesNodeScript(RedisError.fromReply("ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'")))
        #expect(CacheStore.refusesNodeScript(RedisError.fromReply("ERR Unexpected flag in script shebang: allow-cross-slot-keys")))
        #expect(!CacheStore.refusesNodeScript(RedisError.fromReply("ERR Script attempted to access a non local key in a cluster node")))
        #expect(!CacheStore.refusesNodeScript(RedisError.fromReply("OOM command not allowed when used memory > 'maxmemory'.")))
    }

    @Test func anOlderPriceNeverReplacesANewerOne() throws {
        let symbol = try Symbol("MSFT")
        #expect(try store.write([price("MSFT", close: "2", timestamp: 20).cacheWrite], deadline: nil).map { try $0.get() } == [.written])
        // Reordered and redelivered: older is skipped, equal overwrites, newer wins.
        let outcomes = try store.write(
            [
                price("MSFT", close: "1", timestamp: 19).cacheWrite,
                price("MSFT", close: "2.5", timestamp: 20).cacheWrite,
                price("MSFT", close: "3", timestamp: 30).cacheWrite,
                price("MSFT", close: "0", timestamp: 29).cacheWrite,
            ], deadline: nil)
        #expect(try outcomes.map { try $0.get() } == [.stale, .written, .written, .stale])
        let cached = try store.prices([symbol], deadline: nil).first ?? nil
        #expect(cached?.first { $0.field == "close" }?.value == "3")
        #expect(cached?.first { $0.field == "timestamp" }?.value == "30")
    }

    @Test func anOlderSignalNeverReplacesANewerOne() throws {
        let symbol = try Symbol("AAPL")
        let strategy = try Identifier("momentum", field: "strategy_id")
        let outcomes = try store.write([signal("buy", timestamp: 50).cacheWrite, signal("sell", timestamp: 40).cacheWrite], deadline: nil)
        #expect(try outcomes.map { try $0.get() } == [.written, .stale])
        #expect(try store.signal(symbol, strategyID: strategy, deadline: nil)?.contains(#""signal":"buy""#) == true)
    }

    @Test func aWriteRedisRefusesFailsAlone() throws {
        _ = try client.command(RedisCommand("SET", "price:WRONG", "a string, not a hash"))
        let outcomes = try store.write(
            [price("WRONG", close: "1", timestamp: 1).cacheWrite, price("RIGHT", close: "1", timestamp: 1).cacheWrite], deadline: nil)
        guard case .failure(let error) = outcomes[0] else {
            Issue.record("writing a hash over a string must fail")
            return
        }
        #expect(error.kind == .server(code: "WRONGTYPE"))
        #expect(try outcomes[1].get() == .written)
    }

    @Test func aLargeBatchIsOneRoundTripOfAFewScriptCallsAndARefusedWriteFailsAlone() throws {
        _ = try client.command(RedisCommand("SET", "price:S140", "a string, not a hash"))
        _ = try client.command(RedisCommand("CONFIG", "RESETSTAT"))
        let writes = try (0..<250).map { try price("S\($0)", close: "\($0)", timestamp: 5).cacheWrite }
        let outcomes = try store.write(writes, deadline: nil)
        #expect(outcomes.count == 250)
        for (index, outcome) in outcomes.enumerated() where index != 140 {
            #expect((try? outcome.get()) == .written, "write \(index): \(outcome)")
        }
        guard case .failure(let error) = outcomes[140] else {
            Issue.record("writing a hash over a string must fail")
            return
        }
        #expect(error.kind == .server(code: "WRONGTYPE"))
        #expect(try ttl("price:S249") > 0)
        let stats = try client.command(RedisCommand("INFO", "commandstats")).stringValue ?? ""
        let calls = (CacheStore.maximumWritesPerScriptCall + 249) / CacheStore.maximumWritesPerScriptCall
        #expect(stats.contains("cmdstat_evalsha:calls=\(calls),"), "\(stats)")
    }

    @Test func writesSurviveALostScriptCache() throws {
        _ = try client.command(RedisCommand("SCRIPT", "FLUSH"))
        #expect(try store.write([price("FLUSH", close: "1", timestamp: 1).cacheWrite], deadline: nil).map { try $0.get() } == [.written])
    }

    // MARK: - The single-write script (issue 13)

    /// Every stored key of the four families, as the serving layer would read it: hash fields
    /// sorted, string values, and whether the TTL is the family's.
    private func storedState(_ keys: [(key: String, family: KeyFamily)]) throws -> [String] {
        try keys.map { key, family in
            let type = try client.command(RedisCommand("TYPE", key)).stringValue ?? "?"
            let value: String
            switch type {
            case "hash":
                let flat = try client.command(RedisCommand("HGETALL", key)).arrayValue ?? []
                value = stride(from: 0, to: flat.count - 1, by: 2).map { "\(flat[$0].stringValue ?? "")=\(flat[$0 + 1].stringValue ?? "")" }.sorted().joined(
                    separator: ",")
            default:
                value = try client.command(RedisCommand("GET", key)).stringValue ?? "(none)"
            }
            let remaining = try ttl(key)
            return "\(key) \(type) \(value) ttl-ok=\((family.ttlSeconds - 2...family.ttlSeconds).contains(remaining))"
        }
    }

    private func familyWrites(timestamp: Int) throws -> (writes: [CacheWrite], keys: [(key: String, family: KeyFamily)]) {
        let userID = try Identifier("user-s", field: "user_id")
        let writes = [
            try price("SW", close: "1.25", timestamp: timestamp).cacheWrite,
            try signal("buy", timestamp: timestamp).cacheWrite,
            try AlertStatus(json: .object(["alert_id": .string("a-s"), "status": .string("triggered")])).cacheWrite,
            try SessionUpdate(
                userID: userID, json: .object(["active_symbols": .string("SW,AAPL"), "websocket_connected": .bool(false)]),
                now: EpochSeconds(seconds: Int64(timestamp))
            ).cacheWrite,
        ]
        let keys: [(key: String, family: KeyFamily)] = [
            ("price:SW", .price), ("signal:AAPL:momentum", .signal), ("alert:status:a-s", .alertStatus), ("session:user-s", .session),
        ]
        return (writes, keys)
    }

    private func scriptIsCached(_ script: RedisScript) throws -> Bool {
        try client.command(RedisCommand("SCRIPT", "EXISTS", script.sha1)).arrayValue?.first?.integerValue == 1
    }

    @Test func aSingleWriteUsesTheSingleWriteScriptAndItsArguments() throws {
        _ = try client.command(RedisCommand("SCRIPT", "FLUSH"))
        let write = try price("ONE", close: "9.5", timestamp: 77).cacheWrite
        #expect(write.singleScriptCall.keys.map { String(decoding: $0, as: UTF8.self) } == ["price:ONE"])
        #expect(
            write.singleScriptCall.arguments.map { String(decoding: $0, as: UTF8.self) } == [
                "hash", "300", "77", "close", "9.5", "open", "1", "high", "1", "low", "1", "volume", "1", "timestamp", "77",
                "source", "speed_layer",
            ])
        let alert = try AlertStatus(json: .object(["alert_id": .string("a-1"), "status": .string("pending")])).cacheWrite
        #expect(alert.singleScriptCall.arguments.map { String(decoding: $0, as: UTF8.self) } == ["string", "86400", "", "pending"])
        #expect(try store.write([write], deadline: nil).map { try $0.get() } == [.written])
        #expect(try scriptIsCached(CacheWrite.singleWriteScript))
        #expect(try !scriptIsCached(CacheWrite.script))
    }

    @Test func theSingleWriteScriptAndTheBatchScriptStoreTheSameState() throws {
        let (writes, keys) = try familyWrites(timestamp: 100)
        for write in writes {
            #expect(try store.write([write], deadline: nil).map { try $0.get() } == [.written])
        }
        let alone = try storedState(keys)
        _ = try client.command(RedisCommand("FLUSHALL"))
        _ = try client.command(RedisCommand("SCRIPT", "FLUSH"))
        #expect(try store.write(writes, deadline: nil).map { try $0.get() } == Array(repeating: .written, count: writes.count))
        #expect(try !scriptIsCached(CacheWrite.singleWriteScript))
        #expect(try storedState(keys) == alone)
        #expect(alone.allSatisfy { $0.hasSuffix("ttl-ok=true") }, "\(alone)")
        #expect(alone[0] == "price:SW hash close=1.25,high=1,low=1,open=1,source=speed_layer,timestamp=100,volume=1 ttl-ok=true")
    }

    @Test func aSingleWriteSkipsAnOlderTimestampAndOverwritesAnEqualOne() throws {
        let (newer, keys) = try familyWrites(timestamp: 200)
        for write in newer { _ = try store.write([write], deadline: nil) }
        let latestWinsKeys = Array(keys.prefix(2))
        let stored = try storedState(latestWinsKeys)
        let older = try familyWrites(timestamp: 150).writes
        // Prices and signals are latest-wins; alert statuses and sessions (no timestamp compared) are always written.
        let outcomes = try older.map { try store.write([$0], deadline: nil)[0].get() }
        #expect(outcomes == [.stale, .stale, .written, .written])
        #expect(try storedState(latestWinsKeys) == stored)
        // A redelivery (equal timestamp) writes again, so a call whose reply was lost can be retried.
        _ = try client.command(RedisCommand("EXPIRE", "price:SW", "5"))
        #expect(try store.write([newer[0]], deadline: nil).map { try $0.get() } == [.written])
        #expect(try storedState(latestWinsKeys) == stored)
    }

    @Test func aSingleWriteRedisRefusesFailsWithItsErrorAndChangesNothing() throws {
        _ = try client.command(RedisCommand("SET", "price:SWRONG", "a string, not a hash"))
        _ = try client.command(RedisCommand("HSET", "signal:AAPL:momentum", "not", "a string"))
        for write in [try price("SWRONG", close: "1", timestamp: 1).cacheWrite, try signal("buy", timestamp: 1).cacheWrite] {
            let outcomes = try store.write([write], deadline: nil)
            guard outcomes.count == 1, case .failure(let error) = outcomes[0] else {
                Issue.record("writing \(write.key) over a key of another type must fail: \(outcomes)")
                continue
            }
            #expect(error.kind == .server(code: "WRONGTYPE"))
            #expect(try ttl(write.key) == -1, "a refused write must not set the TTL of \(write.key)")
        }
        #expect(try client.command(RedisCommand("GET", "price:SWRONG")).stringValue == "a string, not a hash")
    }

    @Test func readsSeveralKeysAndTellsMissingOnes() throws {
        _ = try store.write([price("A1", close: "1", timestamp: 1).cacheWrite, price("A3", close: "3", timestamp: 1).cacheWrite], deadline: nil)
        let cached = try store.prices([Symbol("A1"), Symbol("A2"), Symbol("A3")], deadline: nil)
        #expect(cached.map { $0?.first?.value } == ["1", nil, "3"])
        #expect(try store.alertStatus(Identifier("none", field: "alert_id"), deadline: nil) == nil)
    }

    @Test func readsASessionsActiveSymbols() throws {
        let userID = try Identifier("user-2", field: "user_id")
        #expect(try store.activeSymbols(of: userID, deadline: nil) == nil)
        let update = try SessionUpdate(userID: userID, json: .object(["active_symbols": .string("AAPL,MSFT")]), now: EpochSeconds(seconds: 1))
        _ = try store.write([update.cacheWrite], deadline: nil)
        #expect(try store.activeSymbols(of: userID, deadline: nil) == [Symbol("AAPL"), Symbol("MSFT")])
    }
}
