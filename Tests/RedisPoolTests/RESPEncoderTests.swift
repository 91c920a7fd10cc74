import RedisPool
import Testing

@Suite struct RESPEncoderTests {
    private func encoded(_ command: RedisCommand) -> String {
        String(decoding: RESPEncoder.encode([command]), as: UTF8.self)
    }

    @Test func commandIsAnArrayOfBulkStrings() {
        #expect(encoded(RedisCommand("GET", "price:AAPL")) == "*2\r\n$3\r\nGET\r\n$10\r\nprice:AAPL\r\n")
    }

    @Test func nameAndArgumentsInitialiserEncodesTheSame() {
        #expect(RedisCommand("HSET", arguments: ["k", "f", "v"]) == RedisCommand("HSET", "k", "f", "v"))
        #expect(encoded(RedisCommand("HSET", arguments: ["k", "f", "v"])) == "*4\r\n$4\r\nHSET\r\n$1\r\nk\r\n$1\r\nf\r\n$1\r\nv\r\n")
    }

    @Test func binaryArgumentsAreLengthPrefixedNotEscaped() {
        let value: [UInt8] = [0x00, 0x0D, 0x0A, 0x24, 0x2A, 0xFF]
        let bytes = RESPEncoder.encode([RedisCommand(arguments: [Array("SET".utf8), Array("k".utf8), value])])
        #expect(bytes == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\n".utf8) + value + [0x0D, 0x0A])
    }

    @Test func emptyArgumentAndMultiDigitLengths() {
        let long = String(repeating: "x", count: 1234)
        #expect(encoded(RedisCommand("SET", "", long)) == "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1234\r\n\(long)\r\n")
        #expect(encoded(RedisCommand("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5")).hasPrefix("*11\r\n"))
    }

    @Test func unicodeIsCountedInBytes() {
        #expect(encoded(RedisCommand("SET", "€", "é")) == "*3\r\n$3\r\nSET\r\n$3\r\n€\r\n$2\r\né\r\n")
    }

    @Test func pipelineIsCommandsBackToBack() {
        let bytes = RESPEncoder.encode([RedisCommand("PING"), RedisCommand("GET", "a")])
        #expect(String(decoding: bytes, as: UTF8.self) == "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
    }

    @Test func idempotenceFollowsTheCommandAndItsOptions() {
        #expect(RedisCommand("get", "k").isIdempotent)
        #expect(RedisCommand("HSET", "k", "f", "v").isIdempotent)
        #expect(RedisCommand("SET", "k", "v", "EX", "60").isIdempotent)
        #expect(!RedisCommand("SET", "k", "v", "NX").isIdempotent)
        #expect(!RedisCommand("SET", "k", "v", "get").isIdempotent)
        #expect(!RedisCommand("INCR", "k").isIdempotent)
        #expect(!RedisCommand("EVALSHA", "abc", "0").isIdempotent)
    }

    @Test func scriptSHA1IsComputedLocally() {
        // `redis-cli SCRIPT LOAD "return 1"` answers this digest.
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
