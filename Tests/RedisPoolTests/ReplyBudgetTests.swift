import Foundation
@testable import RedisPool
import Testing

/// A whole reply is bounded (bytes and values), not only each value in it: a server sending
/// nested arrays of a million small elements drove a function to 790 MB before.
@Suite struct ReplyBudgetTests {
    /// The replies of `bytes` parsed whole and fed one byte at a time (both must agree), or the
    /// reason they were refused.
    private func outcome(_ text: String, _ limits: RESPParser.Limits) -> Result<[RESPValue], RESPParseError> {
        let bytes = Array(text.utf8)
        var whole = RESPParser(limits: limits)
        whole.append(bytes)
        var trickle = RESPParser(limits: limits)
        let wholeOutcome = Result { () throws(RESPParseError) in
            var replies: [RESPValue] = []
            while let reply = try whole.next() { replies.append(reply) }
            return replies
        }
        let trickleOutcome = Result { () throws(RESPParseError) in
            var replies: [RESPValue] = []
            for byte in bytes {
                trickle.append([byte])
                while let reply = try trickle.next() { replies.append(reply) }
            }
            return replies
        }
        #expect(wholeOutcome == trickleOutcome)
        return wholeOutcome
    }

    private func limits(bytes: Int = RESPParser.Limits.defaultMaximumReplyBytes, elements: Int = RESPParser.Limits.defaultMaximumReplyElements)
        -> RESPParser.Limits
    {
        RESPParser.Limits(maximumReplyBytes: bytes, maximumReplyElements: elements)
    }

    @Test func aReplyOfExactlyTheByteBudgetPassesAndOneByteMoreIsRefused() throws {
        // 5 + 13 + 2 = 20 bytes; then 4 + 4 + 4 = 12 bytes.
        #expect(try outcome("$13\r\nthirteen char\r\n", limits(bytes: 20)).get() == [.bulkString(Array("thirteen char".utf8))])
        #expect(try outcome("*2\r\n:1\r\n:2\r\n", limits(bytes: 12)).get() == [.array([.integer(1), .integer(2)])])
        // The budget is per reply: two replies of 12 bytes each pass a budget of 12.
        #expect(try outcome("*2\r\n:1\r\n:2\r\n*2\r\n:3\r\n:4\r\n", limits(bytes: 12)).get().count == 2)

        let refusedBulk = outcome("$14\r\nfourteen chars\r\n", limits(bytes: 20))
        #expect(refusedBulk.failure?.reason == "reply of more than 20 bytes, above the per-reply budget (REDIS_MAX_REPLY_BYTES)")
        #expect(outcome("*2\r\n:1\r\n:2\r\n", limits(bytes: 11)).failure != nil)
        #expect(outcome("*2\r\n:1\r\n:22\r\n", limits(bytes: 12)).failure != nil)
    }

    @Test func aBulkStringAboveTheBudgetIsRefusedAtItsHeader() throws {
        // 100 MB declared, under the 512 MB bulk limit, above the 64 MiB reply budget: refused
        // without a byte of it having arrived (nothing is buffered waiting for it).
        var parser = RESPParser()
        parser.append(Array("$100000000\r\n".utf8))
        #expect(throws: RESPParseError.self) { try parser.next() }
        // Inside an array, what the reply used before counts: 4 + 9 = 13 bytes, then 7 more.
        #expect(outcome("*2\r\n$3\r\nabc\r\n$1\r\nx\r\n", limits(bytes: 19)).failure != nil)
        #expect(outcome("*2\r\n$3\r\nabc\r\n$1\r\nx\r\n", limits(bytes: 20)).success?.count == 1)
    }

    @Test func aReplyOfExactlyTheElementBudgetPassesAndOneMoreIsRefused() throws {
        // The reply itself and its two elements: 3 values.
        #expect(try outcome("*2\r\n:1\r\n:2\r\n", limits(elements: 3)).get() == [.array([.integer(1), .integer(2)])])
        #expect(
            outcome("*2\r\n:1\r\n:2\r\n", limits(elements: 2)).failure?.reason
                == "reply of more than 2 values, above the per-reply budget (REDIS_MAX_REPLY_ELEMENTS)")
        // Nested: 1 + 2 + 2 + 1 = 6 values; a map's pair counts two.
        #expect(try outcome("*2\r\n*2\r\n:1\r\n:2\r\n%1\r\n+k\r\n:3\r\n", limits(elements: 7)).get().count == 1)
        #expect(outcome("*2\r\n*2\r\n:1\r\n:2\r\n%1\r\n+k\r\n:3\r\n", limits(elements: 6)).failure != nil)
        #expect(try outcome(":1\r\n:2\r\n:3\r\n", limits(elements: 1)).get().count == 3)
    }

    @Test func nestedArraysOfAMillionElementsAreRefusedAtTheirHeaders() throws {
        // Each header announces its elements: the fourth million-element array passes 4 Mi
        // values and is refused before any element is parsed or held.
        var parser = RESPParser()
        parser.append(Array(("*1048576\r\n" + String(repeating: "*1048576\r\n", count: 4)).utf8))
        #expect(throws: RESPParseError.self) { try parser.next() }
    }
}

/// The budget through the client: a fake server on loopback sends a hostile reply; the command
/// fails with a protocol error, the connection is closed rather than pooled, and the next command
/// works on a fresh connection once the server behaves.
@Suite struct ReplyBudgetClientTests {
    /// An array of 100,000 arrays of 8 integers: 900,001 values in 3.6 MB. With a budget of
    /// 500,000 values it is refused half-way, while the server is still sending.
    static let manySmallElements: [UInt8] = {
        let element = "*8\r\n" + String(repeating: ":1\r\n", count: 8)
        return Array(("*100000\r\n" + String(repeating: element, count: 100_000)).utf8)
    }()

    private func expectRecovery(_ server: HostileRedisServer, _ client: RedisClient) throws {
        server.behave(.wellBehaved)
        #expect(try client.command(RedisCommand("GET", "k")) == .bulkString(Array("value".utf8)))
        #expect(server.acceptedConnections == 2)
        #expect(server.waitForConnectionsClosedByTheClient(1))
        #expect(try client.command(RedisCommand("GET", "k")) == .bulkString(Array("value".utf8)))
        #expect(server.acceptedConnections == 2)  // the fresh one is pooled and reused
    }

    @Test func tooManyElementsIsAProtocolErrorAndTheConnectionIsReplaced() throws {
        let server = try HostileRedisServer(.hostile(Self.manySmallElements))
        defer { server.stop() }
        let client = try RedisClient(
            configuration: RedisConfiguration(
                endpoint: "127.0.0.1", port: server.port, useTLS: false, timeout: .seconds(10), maximumReplyElements: 500_000
            ))
        let error = caught { try client.command(RedisCommand("GET", "k")) }
        #expect(error?.kind == .protocolError)
        #expect(
            error?.message.contains("reply of more than 500000 values, above the per-reply budget (REDIS_MAX_REPLY_ELEMENTS)") == true,
            "\(String(describing: error))")
        #expect(server.acceptedConnections == 1)  // a protocol error is never retried
        try expectRecovery(server, client)
    }

    @Test func aReplyAboveTheDefaultByteBudgetIsAProtocolErrorAndTheConnectionIsReplaced() throws {
        // Declares 100 MB and sends 1 MB of it: refused at the header, without waiting for the rest.
        let server = try HostileRedisServer(.hostile(Array("$100000000\r\n".utf8) + [UInt8](repeating: 0x61, count: 1 << 20)))
        defer { server.stop() }
        let client = try RedisClient(configuration: RedisConfiguration(endpoint: "127.0.0.1", port: server.port, useTLS: false, timeout: .seconds(10)))
        let error = caught { try client.command(RedisCommand("GET", "k")) }
        #expect(error?.kind == .protocolError)
        #expect(
            error?.message.contains("reply of more than 67108864 bytes, above the per-reply budget (REDIS_MAX_REPLY_BYTES)") == true,
            "\(String(describing: error))")
        try expectRecovery(server, client)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
