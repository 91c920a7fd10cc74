import LambdaEvents
import RedisPool
import Testing
import TestSupport
@testable import PriceCache

/// A batch written while it is decoded (`CacheStore.write(count:deadline:decoding:)`, issue 13's
/// second pass) against a real redis-server: the same outcomes and stored bytes as the batch
/// written in one call, each item decoded once, and every failure mode of the one-call write.
@Suite(.serialized) final class StreamedWriteTests: StoreOnRedisServer {
    /// Item `index` of a mixed batch: the four families in turn (distinct keys), every item whose
    /// index is in `invalid` making no write.
    private func item(_ index: Int, timestamp: Int, invalid: Set<Int> = []) throws -> CacheWrite? {
        guard !invalid.contains(index) else { return nil }
        switch index % 4 {
        case 0:
            return try PriceUpdate(
                json: .object([
                    "symbol": .string("P\(index)"), "close": .string("\(index).25"), "open": .string("1"), "high": .string("2"),
                    "low": .string("0.5"), "volume": .string("1000"), "timestamp": .integer(timestamp),
                ])
            ).cacheWrite
        case 1:
            return try TradingSignal(
                json: JSONParser.parse(
                    Array(
                        #"{"symbol":"S\#(index)","strategy_id":"m","signal":"buy","confidence":0.5,"timestamp":"\#(timestamp)","price":"1.5"}"#.utf8
                    ))
            ).cacheWrite
        case 2:
            return try AlertStatus(json: .object(["alert_id": .string("a-\(index)"), "status": .string("triggered")])).cacheWrite
        default:
            let userID = try Identifier("u-\(index)", field: "user_id")
            return try SessionUpdate(userID: userID, json: .object(["active_symbols": .string("P0,P4")]), now: EpochSeconds(seconds: Int64(timestamp)))
                .cacheWrite
        }
    }

    /// Every key's type, value (hash fields sorted) and whether its TTL is its family's.
    private func storedState(_ writes: [CacheWrite]) throws -> [String] {
        try writes.map { write in
            let type = try client.command(RedisCommand("TYPE", write.key)).stringValue ?? "?"
            let value: String
            if type == "hash" {
                let flat = try client.command(RedisCommand("HGETALL", write.key)).arrayValue ?? []
                value = stride(from: 0, to: flat.count - 1, by: 2).map { "\(flat[$0].stringValue ?? "")=\(flat[$0 + 1].stringValue ?? "")" }.sorted().joined(
                    separator: ",")
            } else {
                value = try client.command(RedisCommand("GET", write.key)).stringValue ?? "(none)"
            }
            let ttl = try client.command(RedisCommand("TTL", write.key)).integerValue ?? -3
            // The family's TTL less the test's time so far (a loaded host can take tens of seconds); the
            // families' ranges do not overlap, so a missing TTL (-1) or another family's still fails.
            return "\(write.key) \(type) \(value) ttl-ok=\((write.family.ttlSeconds * 2 / 3...write.family.ttlSeconds).contains(Int(ttl)))"
        }
    }

    private func evalshaCalls() throws -> Int {
        let stats = try client.command(RedisCommand("INFO", "commandstats")).stringValue ?? ""
        guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:calls=") }) else { return 0 }
        return Int(line.dropFirst("cmdstat_evalsha:calls=".count).prefix { $0.isNumber }) ?? -1
    }

    /// Streams items `0..<count`, counting how often each is asked for.
    private func streamed(count: Int, timestamp: Int, invalid: Set<Int> = []) throws -> (results: [Result<WriteOutcome, RedisError>?], asked: [Int]) {
        var asked = Array(repeating: 0, count: count)
        var decodeError: (any Error)?
        let results = try store.write(count: count, deadline: nil) { [self] index in
            asked[index] += 1
            do {
                return try item(index, timestamp: timestamp, invalid: invalid)
            } catch {
                decodeError = error
                return nil
            }
        }
        if let decodeError { throw decodeError }
        return (results, asked)
    }

    @Test func aStreamedBatchStoresExactlyWhatTheOneCallBatchStores() throws {
        let count = 103
        let invalid: Set<Int> = [0, 26, 51, 77, 102]
        let writes = try (0..<count).compactMap { try item($0, timestamp: 500, invalid: invalid) }
        #expect(try store.write(writes, deadline: nil).map { try $0.get() } == Array(repeating: .written, count: writes.count))
        let inOneCall = try storedState(writes)
        #expect(inOneCall.allSatisfy { $0.hasSuffix("ttl-ok=true") }, "\(inOneCall)")

        _ = try client.command(RedisCommand("FLUSHALL"))
        _ = try client.command(RedisCommand("CONFIG", "RESETSTAT"))
        let (results, asked) = try streamed(count: count, timestamp: 500, invalid: invalid)
        #expect(asked == Array(repeating: 1, count: count), "each item is decoded once")
        for index in 0..<count {
            if invalid.contains(index) {
                #expect(results[index] == nil, "item \(index) made no write")
            } else {
                #expect((try? results[index]?.get()) == .written, "item \(index): \(String(describing: results[index]))")
            }
        }
        #expect(try storedState(writes) == inOneCall)
        // Streamed: one script call per `writesPerStreamedCall` valid writes, not one for the batch.
        let perCall = CacheStore.writesPerStreamedCall
        #expect(try evalshaCalls() == (writes.count + perCall - 1) / perCall)
    }

    @Test func latestWinsAndARetriedBatchIsHarmlessAcrossStreamedCalls() throws {
        let count = 80
        let newer = try streamed(count: count, timestamp: 900)
        #expect(newer.results.allSatisfy { (try? $0?.get()) == .written })
        let writes = try (0..<count).compactMap { try item($0, timestamp: 900) }
        let stored = try storedState(writes)
        // Older prices and signals are skipped; alert statuses and sessions (no timestamp) are written.
        let older = try streamed(count: count, timestamp: 800)
        for index in 0..<count {
            let expected: WriteOutcome = index % 4 < 2 ? .stale : .written
            #expect((try? older.results[index]?.get()) == expected, "item \(index)")
        }
        let latestWins = writes.indices.filter { $0 % 4 < 2 }
        #expect(try storedState(latestWins.map { writes[$0] }) == latestWins.map { stored[$0] })
        // The same batch again (a redelivery, or a retried call whose reply was lost): written again, same bytes.
        let again = try streamed(count: count, timestamp: 900)
        #expect(again.results.allSatisfy { (try? $0?.get()) == .written })
        #expect(try storedState(writes) == stored)
    }

    @Test func aWriteRedisRefusesInALaterCallFailsAlone() throws {
        _ = try client.command(RedisCommand("SET", "price:P68", "a string, not a hash"))
        let (results, _) = try streamed(count: 90, timestamp: 5, invalid: [3])
        for (index, result) in results.enumerated() {
            switch index {
            case 3: #expect(result == nil)
            case 68:
                guard case .failure(let error)? = result else {
                    Issue.record("writing a hash over a string must fail: \(String(describing: result))")
                    continue
                }
                #expect(error.kind == .server(code: "WRONGTYPE"))
            default: #expect((try? result?.get()) == .written, "item \(index): \(String(describing: result))")
            }
        }
        #expect(try client.command(RedisCommand("GET", "price:P68")).stringValue == "a string, not a hash")
        #expect(try client.command(RedisCommand("TTL", "price:P68")).integerValue == -1)
    }

    @Test func aLostScriptCacheIsLoadedAgainWithTheSameCalls() throws {
        _ = try client.command(RedisCommand("SCRIPT", "FLUSH"))
        let (results, asked) = try streamed(count: 60, timestamp: 7)
        #expect(results.allSatisfy { (try? $0?.get()) == .written })
        #expect(asked == Array(repeating: 1, count: 60))
    }

    @Test func aConnectionLostWhileStreamingIsRetriedWithTheCallsAlreadyMade() throws {
        let admin = try RedisClient(configuration: RedisConfiguration(endpoint: server.host, port: server.port, useTLS: false))
        var asked = Array(repeating: 0, count: 100)
        let results = try store.write(count: 100, deadline: nil) { [self] index in
            asked[index] += 1
            // While the second call is being decoded, the server drops the connection the first went on.
            if index == 30 && asked[index] == 1 {
                _ = try? admin.command(RedisCommand("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
            }
            return try? item(index, timestamp: 11)
        }
        #expect(asked == Array(repeating: 1, count: 100), "the retry sends the calls already made, nothing is decoded twice")
        #expect(results.allSatisfy { (try? $0?.get()) == .written }, "\(results)")
        #expect(client.statistics.totalRetries >= 1)
        let writes = try (0..<100).compactMap { try item($0, timestamp: 11) }
        #expect(try storedState(writes).allSatisfy { $0.hasSuffix("ttl-ok=true") })
    }

    @Test func nothingToWriteNeedsNoRedisAndSomethingToWriteFailsAsAWhole() throws {
        server.stop()
        let none = try store.write(count: 40, deadline: nil) { _ in nil }
        #expect(none.count == 40 && none.allSatisfy { $0 == nil })
        #expect(throws: RedisError.self) {
            _ = try self.store.write(count: 40, deadline: nil) { [self] index in try? item(index, timestamp: 1) }
        }
    }
}
