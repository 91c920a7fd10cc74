import RedisPool
import TestSupport
import Testing

@Suite struct ClientCommandTests {
    let server: RedisServer
    let client: RedisClient

    init() throws {
        server = try RedisServer.start()
        client = try server.client()
    }

    @Test func setAndGetRoundTripBinaryValues() throws {
        let value: [UInt8] = [0, 13, 10, 255, 36, 42, 13, 10]
        #expect(try client.command(RedisCommand(arguments: [Array("SET".utf8), Array("bin".utf8), value])) == .simpleString("OK"))
        #expect(try client.command(RedisCommand("GET", "bin")) == .bulkString(value))
        #expect(try client.command(RedisCommand("GET", "missing")) == .null)
    }

    @Test func largeValuesCrossManyReads() throws {
        let value = [UInt8]((0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try client.command(RedisCommand(arguments: [Array("SET".utf8), Array("big".utf8), value]))
        #expect(try client.command(RedisCommand("GET", "big")) == .bulkString(value))
    }

    @Test func serverErrorsAreTypedAndTheConnectionStaysUsable() throws {
        try client.command(RedisCommand("SET", "text", "x"))
        let error = caught { try client.command(RedisCommand("HGET", "text", "field")) }
        #expect(error?.kind == .server(code: "WRONGTYPE"))
        #expect(error?.message.hasPrefix("WRONGTYPE") == true)
        #expect(try client.command(RedisCommand("GET", "text")) == .bulk("x"))
    }

    @Test func pipelineReturnsOneResultPerCommandInOrder() throws {
        let results = try client.pipeline([
            RedisCommand("HSET", "price:AAPL", "close", "1.5", "volume", "10"),
            RedisCommand("EXPIRE", "price:AAPL", "60"),
            RedisCommand("INCR", "price:AAPL"),
            RedisCommand("HGETALL", "price:AAPL"),
        ])
        #expect(results.count == 4)
        #expect(try results[0].get() == .integer(2))
        #expect(try results[1].get() == .integer(1))
        #expect(caughtResult(results[2])?.kind == .server(code: "WRONGTYPE"))
        #expect(try results[3].get() == .array([.bulk("close"), .bulk("1.5"), .bulk("volume"), .bulk("10")]))
        #expect(try client.pipeline([]).isEmpty)
    }

    @Test func transactionRunsAllCommandsAtomically() throws {
        let results = try client.transaction([
            RedisCommand("HSET", "tx", "a", "1"),
            RedisCommand("EXPIRE", "tx", "30"),
            RedisCommand("TTL", "tx"),
        ])
        #expect(try results.map { try $0.get() } == [.integer(1), .integer(1), .integer(30)])
    }

    @Test func transactionWithARefusedCommandRunsNothing() throws {
        let error = caught {
            try client.transaction([RedisCommand("SET", "never", "1"), RedisCommand("GET")])
        }
        #expect(error?.kind == .server(code: "ERR"))
        #expect(try client.command(RedisCommand("EXISTS", "never")) == .integer(0))
    }

    @Test func transactionReportsRuntimeErrorsPerCommand() throws {
        try client.command(RedisCommand("SET", "str", "v"))
        let results = try client.transaction([RedisCommand("HSET", "str", "f", "1"), RedisCommand("GET", "str")])
        #expect(caughtResult(results[0])?.kind == .server(code: "WRONGTYPE"))
        #expect(try results[1].get() == .bulk("v"))
    }

    @Test func scriptSHA1MatchesTheServersAndNOSCRIPTFallsBackToEVAL() throws {
        let script = RedisScript("return redis.call('SET', KEYS[1], ARGV[1])")
        try client.command(RedisCommand("SCRIPT", "FLUSH"))
        #expect(try client.run(script, keys: [Array("s".utf8)], arguments: [Array("1".utf8)]) == .simpleString("OK"))
        #expect(try client.command(RedisCommand("SCRIPT", "EXISTS", script.sha1)) == .array([.integer(1)]))
        #expect(try client.command(RedisCommand("SCRIPT", "LOAD", script.source)) == .bulk(script.sha1))
        #expect(try client.run(script, keys: [Array("s".utf8)], arguments: [Array("2".utf8)]) == .simpleString("OK"))
        #expect(try client.command(RedisCommand("GET", "s")) == .bulk("2"))
    }

    @Test func pipelinedScriptCallsResendOnlyWhatMetNOSCRIPT() throws {
        let script = RedisScript("return tonumber(ARGV[1]) * 2", isIdempotent: true)
        try client.command(RedisCommand("SCRIPT", "FLUSH"))
        let calls = (1...5).map { (keys: [[UInt8]](), arguments: [Array(String($0).utf8)]) }
        let results = try client.runPipelined(script, calls: calls)
        #expect(try results.map { try $0.get() } == (1...5).map { .integer(Int64($0 * 2)) })
        let again = try client.runPipelined(script, calls: calls)
        #expect(try again.map { try $0.get() } == (1...5).map { .integer(Int64($0 * 2)) })
    }

    @Test func streamedScriptCallsAreMadeOnceInOrderAndResentAfterNOSCRIPT() throws {
        let script = RedisScript("return tonumber(ARGV[1]) * 2", isIdempotent: true)
        try client.command(RedisCommand("SCRIPT", "FLUSH"))
        var made = 0
        let calls = ScriptCallStream {
            guard made < 5 else { return nil }
            made += 1
            return (keys: [], arguments: [Array(String(made).utf8)])
        }
        let results = try client.runStreamed(script, calls: calls)
        #expect(try results.map { try $0.get() } == (1...5).map { .integer(Int64($0 * 2)) })
        #expect(made == 5, "each call is made once, the EVAL after NOSCRIPT resends the same")
        #expect(try client.command(RedisCommand("SCRIPT", "EXISTS", script.sha1)) == .array([.integer(1)]))
    }

    @Test func aStreamThatMakesNoCallBorrowsNoConnection() throws {
        server.stop()
        let results = try client.runStreamed(RedisScript("return 1", isIdempotent: true), calls: ScriptCallStream { nil })
        #expect(results.isEmpty)
        #expect(client.statistics.totalRetries == 0)
    }

    @Test func scriptErrorsAreServerErrors() throws {
        let error = caught { try client.run(RedisScript("return redis.call('NOPE')"), keys: [], arguments: []) }
        #expect(error?.kind == .server(code: "ERR"))
    }

    @Test func concurrentCommandsFromManyThreadsShareThePool() {
        let client = client
        onThreads(8) { worker in
            for round in 0..<50 {
                let key = "k\(worker)"
                #expect(throws: Never.self) {
                    try client.command(RedisCommand("SET", key, String(round)))
                    #expect(try client.command(RedisCommand("GET", key)) == .bulk(String(round)))
                }
            }
        }
    }
}
