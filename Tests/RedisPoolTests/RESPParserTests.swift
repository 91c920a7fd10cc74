import RedisPool
import Testing
import TestSupport

@Suite struct RESPParserTests {
    /// Parses `text` whole, and again fed one byte at a time: both must give the same replies.
    private func parse(_ bytes: [UInt8], limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
        var whole = RESPParser(limits: limits)
        whole.append(bytes)
        var wholeReplies: [RESPValue] = []
        while let reply = try whole.next() { wholeReplies.append(reply) }
        #expect(whole.isIdle)

        var trickle = RESPParser(limits: limits)
        var trickleReplies: [RESPValue] = []
        for byte in bytes {
            trickle.append([byte])
            while let reply = try trickle.next() { trickleReplies.append(reply) }
        }
        #expect(trickleReplies == wholeReplies)
        return wholeReplies
    }

    private func parse(_ text: String) throws -> [RESPValue] {
        try parse(Array(text.utf8))
    }

    @Test func resp2Types() throws {
        #expect(try parse("+OK\r\n") == [.simpleString("OK")])
        #expect(try parse("-WRONGTYPE Operation against a key\r\n") == [.error("WRONGTYPE Operation against a key")])
        #expect(
            try parse(":0\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n")
                == [.integer(0), .integer(-42), .integer(.max), .integer(.min)])
        #expect(try parse("$5\r\nhello\r\n$0\r\n\r\n$-1\r\n") == [.bulk("hello"), .bulkString([]), .null])
        #expect(try parse("*-1\r\n*0\r\n") == [.null, .array([])])
        #expect(
            try parse("*3\r\n:1\r\n$1\r\na\r\n*1\r\n+x\r\n")
                == [.array([.integer(1), .bulk("a"), .array([.simpleString("x")])])])
    }

    @Test func bulkStringsAreBinarySafe() throws {
        let payload: [UInt8] = [0, 13, 10, 13, 10, 255]
        #expect(try parse(Array("$6\r\n".utf8) + payload + [13, 10]) == [.bulkString(payload)])
    }

    @Test func resp3Types() throws {
        #expect(try parse("_\r\n") == [.null])
        #expect(try parse("#t\r\n#f\r\n") == [.boolean(true), .boolean(false)])
        #expect(try parse(",3.25\r\n,-1e3\r\n,inf\r\n,-inf\r\n") == [.double(3.25), .double(-1000), .double(.infinity), .double(-.infinity)])
        var nanParser = RESPParser()  // NaN != NaN, so not through `parse`, which compares
        nanParser.append(Array(",nan\r\n".utf8))
        if case .double(let value) = try nanParser.next() { #expect(value.isNaN) } else { Issue.record("nan not parsed") }
        #expect(try parse("(3492890328409238509324850943850943825024385\r\n") == [.bigNumber("3492890328409238509324850943850943825024385")])
        #expect(try parse("=15\r\ntxt:Some string\r\n") == [.verbatimString(Array("Some string".utf8))])
        #expect(try parse("!21\r\nSYNTAX invalid syntax\r\n") == [.error("SYNTAX invalid syntax")])
        #expect(try parse("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n") == [.map([.simpleString("a"), .integer(1), .simpleString("b"), .integer(2)])])
        #expect(try parse("~2\r\n+a\r\n+b\r\n") == [.set([.simpleString("a"), .simpleString("b")])])
        #expect(try parse(">2\r\n+message\r\n$2\r\nhi\r\n") == [.push([.simpleString("message"), .bulk("hi")])])
        #expect(
            try parse("|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n")
                == [.attributed(attributes: [.simpleString("ttl"), .integer(3600)], value: .bulk("v"))])
        #expect(
            try parse("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n%0\r\n|0\r\n~0\r\n")
                == [
                    .array([.attributed(attributes: [.simpleString("a"), .simpleString("b")], value: .integer(1)), .map([])]),
                    .attributed(attributes: [], value: .set([])),
                ])
    }

    @Test func accessorsReadThroughTheShapes() throws {
        #expect(RESPValue.bulk("1.5").stringValue == "1.5")
        #expect(RESPValue.simpleString("OK").stringValue == "OK")
        #expect(RESPValue.integer(3).integerValue == 3)
        #expect(RESPValue.integer(3).stringValue == nil)
        #expect(RESPValue.map([.integer(1), .integer(2)]).arrayValue == [.integer(1), .integer(2)])
        #expect(RESPValue.attributed(attributes: [], value: .integer(7)).integerValue == 7)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.bulkString([0xFF, 0xFE]).stringValue != nil)  // repaired, not a crash
    }

    @Test func incompleteInputWaitsForMoreBytes() throws {
        var parser = RESPParser()
        parser.append(Array("*2\r\n$3\r\nfoo\r\n$3\r\nba".utf8))
        #expect(try parser.next() == nil)
        parser.append(Array("r\r\n:1".utf8))
        #expect(try parser.next() == .array([.bulk("foo"), .bulk("bar")]))
        #expect(try parser.next() == nil)
        parser.append(Array("\r\n".utf8))
        #expect(try parser.next() == .integer(1))
    }

    @Test func largeAggregatesSplitAcrossManyReadsParseOnce() throws {
        let count = 50_000
        var bytes = Array("*\(count)\r\n".utf8)
        for index in 0..<count { bytes += Array("$\(String(index).utf8.count)\r\n\(index)\r\n".utf8) }
        var parser = RESPParser()
        var reply: RESPValue?
        for chunk in stride(from: 0, to: bytes.count, by: 1000) {
            #expect(reply == nil)
            parser.append(bytes[chunk..<min(chunk + 1000, bytes.count)])
            reply = try parser.next()
        }
        #expect(reply?.arrayValue?.count == count)
        #expect(reply?.arrayValue?.last == .bulk(String(count - 1)))
        #expect(parser.isIdle)
    }

    @Test(arguments: [
        "?what\r\n",  // unknown type byte
        "\r\n",  // no type at all
        ":12a\r\n",  // bad digit
        ":\r\n",  // empty number
        ":99999999999999999999\r\n",  // overflow
        ":-\r\n",
        "$-2\r\n",  // negative length
        "$3\r\nabcd\r\n",  // payload longer than declared
        "$x\r\n",
        "*-5\r\n",
        "%-1\r\n",
        "+OK\rX",  // CR without LF
        "+OK\n",  // LF without CR
        "#x\r\n",
        "#\r\n",
        ",1.5.5\r\n",
        ",\r\n",
        "(12x\r\n",
        "(\r\n",
        "_x\r\n",
        "=3\r\nabc\r\n",  // verbatim without format prefix
        "*2\r\n:1\r\n?\r\n",  // bad element inside an array
    ])
    func malformedInputIsAProtocolError(_ text: String) {
        var parser = RESPParser()
        parser.append(Array(text.utf8))
        #expect(throws: RESPParseError.self) { while try parser.next() != nil {} }
    }

    @Test func limitsStopHostileLengthsBeforeAnyAllocation() throws {
        let limits = RESPParser.Limits(maximumDepth: 3, maximumBulkLength: 10, maximumAggregateCount: 5, maximumLineLength: 16)
        let hostile = [
            "$11\r\n",  // bulk above the limit, refused at the header
            "$9223372036854775807\r\n",
            "*6\r\n",  // aggregate above the limit
            "*2147483647\r\n",
            "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",  // deeper than 3
            "+" + String(repeating: "a", count: 40),  // a line with no end in sight
        ]
        for text in hostile {
            var parser = RESPParser(limits: limits)
            parser.append(Array(text.utf8))
            #expect(throws: RESPParseError.self, "\(text.prefix(20))") { _ = try parser.next() }
        }
        var parser = RESPParser(limits: limits)
        parser.append(Array("*1\r\n*1\r\n*1\r\n:1\r\n".utf8))
        #expect(try parser.next() == .array([.array([.array([.integer(1)])])]))
    }

    @Test func randomBytesNeverCrashTheParser() {
        var generator = SplitMix64(seed: 0x5EED)
        let alphabet = Array("+-:$*%~>|_#,(=!\r\n0123456789-abc".utf8) + [0, 255]
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 24)
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            var parser = RESPParser(limits: RESPParser.Limits(maximumDepth: 4, maximumBulkLength: 64, maximumAggregateCount: 8, maximumLineLength: 32))
            parser.append(bytes)
            do {
                while try parser.next() != nil {}
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
    }
}
