import RedisPool
import Testing
import TestSupport
@testable import PriceCache

/// The single-write script against a real three-primary Redis Cluster: a write names one key, so
/// it goes to that key's primary as one script call, with the same latest-wins, TTL and
/// per-write refusal as against one primary.
@Suite(.serialized) final class SingleWriteClusterTests {
    let cluster: RedisCluster
    let store: CacheStore

    init() throws {
        cluster = try RedisCluster.start(primaries: 3, replicasPerPrimary: 0)
        var configuration = RedisConfiguration(endpoint: cluster.seed.host, port: cluster.seed.port, useTLS: false)
        configuration.clusterMode = .enabled
        store = CacheStore(client: try ClusterClient(configuration: configuration))
    }

    private func price(_ symbol: String, close: String, timestamp: Int) throws -> CacheWrite {
        try PriceUpdate(
            json: .object([
                "symbol": .string(symbol), "close": .string(close), "open": .string("1"), "high": .string("1"),
                "low": .string("1"), "volume": .string("1"), "timestamp": .integer(timestamp),
            ])
        ).cacheWrite
    }

    private func onItsPrimary(_ key: String, _ arguments: String...) throws -> RESPValue {
        let node = try cluster.node(owning: key)
        let client = try RedisClient(configuration: RedisConfiguration(endpoint: node.host, port: node.port, useTLS: false))
        return try client.command(RedisCommand(arguments: arguments.map { Array($0.utf8) }))
    }

    @Test func eachSingleWriteLandsOnItsKeysPrimaryWithItsTTLAndLatestWins() throws {
        let symbols = (0..<12).map { "CL\($0)" }
        let primaries = Set(try symbols.map { try cluster.node(owning: "price:\($0)").port })
        #expect(primaries.count == 3, "the symbols should spread over every primary")
        for symbol in symbols {
            #expect(try store.write([price(symbol, close: "2", timestamp: 20)], deadline: nil).map { try $0.get() } == [.written])
        }
        for symbol in symbols {
            #expect(try store.write([price(symbol, close: "1", timestamp: 19)], deadline: nil).map { try $0.get() } == [.stale])
            #expect(try onItsPrimary("price:\(symbol)", "HGET", "price:\(symbol)", "close").stringValue == "2")
            let ttl = try onItsPrimary("price:\(symbol)", "TTL", "price:\(symbol)").integerValue ?? -3
            // The family's 300 s, less the test's own time so far: a loaded 2-core host has taken over 30 s to get
            // here, so the bound is far from that and as far from the failures it is for (-1: no TTL; another family's).
            #expect((200...300).contains(ttl), "price:\(symbol) has TTL \(ttl)")
        }
    }

    @Test func aRefusedSingleWriteFailsWithItsOwnError() throws {
        _ = try onItsPrimary("price:CLWRONG", "SET", "price:CLWRONG", "a string, not a hash")
        let outcomes = try store.write([price("CLWRONG", close: "1", timestamp: 1)], deadline: nil)
        guard outcomes.count == 1, case .failure(let error) = outcomes[0] else {
            Issue.record("writing a hash over a string must fail: \(outcomes)")
            return
        }
        #expect(error.kind == .server(code: "WRONGTYPE"))
    }
}
