import Testing
@testable import LambdaEvents

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": ""} "#)
        #expect(
            value
                == .object([
                    "a": .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]),
                    "b": .object(["c": .string("d")]),
                    "e": .string(""),
                ]))
    }

    @Test func keepsNumberLiteralsAndMemberOrder() throws {
        let value = try parse(#"{"z":205.50,"a":1000000}"#)
        #expect(value.jsonText == #"{"z":205.50,"a":1000000}"#)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\u{08}\u{0C}\n\r\té😀"))
    }

    @Test func keepsRawUTF8AndRefusesBrokenUTF8WithOrWithoutEscapes() throws {
        #expect(try parse("[\"caf\u{E9}\",\"\u{1F600}\\n\"]") == .array([.string("caf\u{E9}"), .string("\u{1F600}\n")]))
        for broken: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xFF, 0x5C, 0x6E, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(throws: JSONParseError(offset: 1, reason: "string is not valid UTF-8")) { try JSONParser.parse(broken) }
        }
    }

    /// The string scan tests eight bytes at a time: every special byte, at every offset of a
    /// word and next to every neighbour that could upset a word-wide test, is found exactly.
    @Test func findsEveryStoppingByteAtEveryOffsetOfAWord() throws {
        let neighbours: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x41]
        for length in 0...19 {
            for offset in 0..<max(length, 1) {
                for neighbour in neighbours {
                    var body = [UInt8](repeating: neighbour, count: length)
                    let plain = String(decoding: body, as: UTF8.self)
                    #expect(try JSONParser.parse([0x22] + body + [0x22]) == .string(plain))
                    guard offset < length else { continue }
                    // An escaped quote and an escaped backslash: both must be decoded, not skipped.
                    for (escape, decoded) in [(UInt8(ascii: "\""), "\""), (UInt8(ascii: "\\"), "\\")] {
                        var escaped = body
                        escaped.insert(contentsOf: [0x5C, escape], at: offset)
                        var expected = Array(plain.utf8)
                        expected.insert(contentsOf: Array(decoded.utf8), at: offset)
                        #expect(try JSONParser.parse([0x22] + escaped + [0x22]) == .string(String(decoding: expected, as: UTF8.self)))
                    }
                    // A raw control byte is refused wherever it sits.
                    for control: UInt8 in [0x00, 0x0A, 0x1F] {
                        body[offset] = control
                        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22] + body + [0x22]) }
                        body[offset] = neighbour
                    }
                    // A non-ASCII character still goes through UTF-8 validation.
                    var accented = body
                    accented.replaceSubrange(offset..<offset + 1, with: [0xC3, 0xA9])
                    #expect(try JSONParser.parse([0x22] + accented + [0x22]) == .string(String(decoding: accented, as: UTF8.self)))
                    accented.remove(at: offset + 1)
                    #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22] + accented + [0x22]) }
                }
            }
        }
    }

    @Test func lastDuplicateKeyWins() throws {
        #expect(try parse(#"{"a":1,"a":2}"#)["a"] == .number("2"))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul",
        "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\u12g4\"", "[1 2]", "{\"a\" 1}", "1 2",
        "\"tab\there\"", "NaN", "Infinity",
    ])
    func refusesInvalidDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func refusesNestingPastTheLimitWithoutOverflowingTheStack() throws {
        let depth = 100_000
        let deep = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        #expect(error?.reason == "nesting deeper than 64 levels")
        let allowed = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try parse(allowed)
    }

    @Test func parsesAMultiMegabyteString() throws {
        let huge = String(repeating: "x", count: 5_000_000)
        #expect(try parse("\"\(huge)\"").stringValue?.utf8.count == 5_000_000)
    }

    @Test func reportsTheOffsetOfTheProblem() {
        let error = #expect(throws: JSONParseError.self) { try parse(#"{"a": tru}"#) }
        #expect(error?.offset == 6)
        #expect(error?.description == "invalid JSON at byte 6: invalid literal")
    }
}

@Suite struct JSONWriterTests {
    @Test func writesCompactTextByteForByte() {
        let value: JSONValue = .object([
            "s": .string("q\"b\\n\nt\tc\u{01}é"),
            "n": .number("-0.5e-3"),
            "a": .array([.null, .bool(true), .bool(false), .array([]), .object([])]),
        ])
        #expect(value.jsonText == #"{"s":"q\"b\\n\nt\tc\u0001é","n":-0.5e-3,"a":[null,true,false,[],{}]}"#)
    }

    @Test func roundTripsThroughTheParser() throws {
        let text = #"{"symbol":"AAPL","indicators":{"rsi":45.2,"macd":"bullish","bands":[1,2.50,null]}}"#
        #expect(try JSONParser.parse(Array(text.utf8)).jsonText == text)
    }

    @Test func dropsWhatTheSelectionLeavesOutAndKeepsTheRest() throws {
        let text =
            #"{"Records":[{"eventSource":"aws:kinesis","eventID":"x","kinesis":{"data":"QQ==","partitionKey":"k","n":[1,{"a":null}]}},"plain"],"other":{"kept":1}}"#
        let value = try JSONParser.parse(Array(text.utf8), keeping: RecordBatch.eventSelection)
        #expect(value.jsonText == #"{"Records":[{"eventSource":"aws:kinesis","kinesis":{"data":"QQ=="}},"plain"],"other":{"kept":1}}"#)
        // Keys with escapes are decoded before they are matched.
        let escaped = try JSONParser.parse(Array(#"{"Records":[{"event\u0053ource":"aws:sqs","\u00e9":1}]}"#.utf8), keeping: RecordBatch.eventSelection)
        #expect(escaped.jsonText == #"{"Records":[{"eventSource":"aws:sqs"}]}"#)
    }

    @Test func checksDroppedPartsAsStrictlyAsKeptOnes() {
        let bad = [
            #"{"Records":[{"eventID":"\ud800"}]}"#,
            #"{"Records":[{"eventID":01}]}"#,
            #"{"Records":[{"eventID":"a\u0001b\x"}]}"#,
            #"{"Records":[{"eventID":[1,]}]}"#,
            "{\"Records\":[{\"eventID\":\"\u{01}\"}]}",
        ]
        for text in bad {
            let whole = #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
            let selected = #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8), keeping: RecordBatch.eventSelection) }
            #expect(whole == selected, "\(text)")
        }
        let deep = #"{"Records":[{"eventID":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}]}"
        #expect(throws: JSONParseError(offset: 84, reason: "nesting deeper than 64 levels")) {
            try JSONParser.parse(Array(deep.utf8), keeping: RecordBatch.eventSelection)
        }
        let invalidUTF8: [UInt8] = Array(#"{"Records":[{"eventID":""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)
        #expect(throws: JSONParseError(offset: 24, reason: "string is not valid UTF-8")) {
            try JSONParser.parse(invalidUTF8, keeping: RecordBatch.eventSelection)
        }
    }
}
