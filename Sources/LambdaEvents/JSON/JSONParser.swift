/// Why a document is not JSON (or is JSON this parser refuses to hold), and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset of the problem in the input.
    public let offset: Int
    public let reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`.
///
/// Events come from outside, so nesting is capped: a recursive parser without a cap lets
/// `[[[[...` a few megabytes deep overflow the stack and kill the process for every later
/// invocation too. Strings are validated as UTF-8 and refused when they are not, rather than
/// silently repaired, so no key is ever written from bytes the sender did not mean.
public struct JSONParser {
    /// Real events nest a handful of levels; 64 leaves room for free-form payloads.
    public static let defaultMaximumDepth = 64

    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var position = 0
    private var depth = 0

    /// The document as a value; parts `selection` drops are checked as strictly but left out.
    public static func parse(_ bytes: [UInt8], keeping selection: JSONSelection = .everything, maximumDepth: Int = defaultMaximumDepth) throws(JSONParseError)
        -> JSONValue
    {
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(selection)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected data after the top-level value") }
        return value
    }

    private init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private func failure(_ reason: String) -> JSONParseError {
        JSONParseError(offset: position, reason: reason)
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONParseError) {
        guard current == byte else { throw failure("expected \(what)") }
        position += 1
    }

    /// The value at the current position; a dropped one (`selection` is `.nothing`) comes back as
    /// `.null` after being checked, and its caller leaves it out.
    private mutating func parseValue(_ selection: JSONSelection) throws(JSONParseError) -> JSONValue {
        guard let byte = current else { throw failure("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(selection)
        case UInt8(ascii: "["): return try parseArray(selection)
        case UInt8(ascii: "\""):
            let token = try scanString()
            return selection.keepsValue ? .string(text(of: token)) : .null
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let literal = try scanNumber()
            return selection.keepsValue ? .number(String(decoding: bytes[literal], as: UTF8.self)) : .null
        default: throw failure("unexpected character")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            position + count <= bytes.count && bytes[position..<position + count].elementsEqual(expected)
        }
        guard matches else { throw failure("invalid literal") }
        position += count
    }

    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        guard depth <= maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels") }
        position += 1
        skipWhitespace()
    }

    private mutating func parseArray(_ selection: JSONSelection) throws(JSONParseError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var elements: [JSONValue] = []
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        let elementSelection = selection.element
        while true {
            let element = try parseValue(elementSelection)
            if elementSelection.keepsValue { elements.append(element) }
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                position += 1
                skipWhitespace()
                continue
            }
            try expect(UInt8(ascii: "]"), "',' or ']' in an array")
            return .array(elements)
        }
    }

    private mutating func parseObject(_ selection: JSONSelection) throws(JSONParseError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var members: [JSONMember] = []
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try scanString()
            let memberSelection =
                switch key {
                case .plain(let range): selection.member(bytes[range])
                case .decoded(let text): selection.member(text.utf8)
                }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after an object key")
            skipWhitespace()
            let value = try parseValue(memberSelection)
            if memberSelection.keepsValue { members.append(JSONMember(text(of: key), value)) }
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                position += 1
                skipWhitespace()
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}' in an object")
            return .object(members)
        }
    }

    /// Checks the number at the current position against the grammar; its literal's range.
    private mutating func scanNumber() throws(JSONParseError) -> Range<Int> {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else {
            guard skipDigits() > 0 else { throw failure("expected a digit") }
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { throw failure("expected a digit after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { throw failure("expected a digit in the exponent") }
        }
        return start..<position
    }

    private mutating func skipDigits() -> Int {
        let start = position
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        return position - start
    }

    /// A checked string: most are one ASCII slice of the input, left there until someone needs
    /// the String (a dropped value or an unselected key never does); the rest are decoded.
    private enum StringToken {
        case plain(Range<Int>)
        case decoded(String)
    }

    private func text(of token: StringToken) -> String {
        switch token {
        // ASCII is valid UTF-8 as it is: no validation pass, no intermediate copy.
        case .plain(let range): String(decoding: bytes[range], as: UTF8.self)
        case .decoded(let text): text
        }
    }

    private mutating func scanString() throws(JSONParseError) -> StringToken {
        position += 1  // the opening quote
        let start = position
        // Fast path: most strings have no escapes and are one slice of the input, most are ASCII.
        let (end, unionOfBytes) = Self.scanPlainRun(bytes, from: start)
        position = end
        guard let stop = current else { throw failure("unterminated string") }
        if stop == UInt8(ascii: "\""), unionOfBytes < 0x80 {
            position += 1  // the closing quote
            return .plain(start..<end)
        }
        var utf8 = Array(bytes[start..<position])
        if stop != UInt8(ascii: "\"") {
            try continueEscapedString(into: &utf8)
        }
        position += 1  // the closing quote
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONParseError(offset: start, reason: "string is not valid UTF-8")
        }
        return .decoded(text)
    }

    /// Where the run of bytes from `start` that need no attention in a string (no quote, no
    /// backslash, no control byte) ends, and the OR of those bytes (below 0x80: all ASCII).
    /// Base64 record data makes this the parser's hottest loop, hence the unchecked buffer (the
    /// loop conditions keep every index in bounds) and the eight bytes tested at a time: a word
    /// with none of the stopping bytes is taken whole, the first word with one is finished byte
    /// by byte.
    private static func scanPlainRun(_ bytes: [UInt8], from start: Int) -> (end: Int, unionOfBytes: UInt8) {
        bytes.withUnsafeBufferPointer { buffer in
            var index = start
            var wordUnion: UInt64 = 0
            if let base = UnsafeRawPointer(buffer.baseAddress) {
                while index + 8 <= buffer.count {
                    let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    if wordHasStoppingByte(word) { break }
                    wordUnion |= word
                    index += 8
                }
            }
            var union = foldedBytes(wordUnion)
            while index < buffer.count {
                let byte = buffer[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                union |= byte
                index += 1
            }
            return (index, union)
        }
    }

    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is a quote, a backslash or below 0x20 (the classic "has a zero
    /// byte" and "has a byte less than n" tests). The answer is exact: a borrow can only mark a
    /// byte above one that really matches, and `& ~word` leaves out bytes of 0x80 and more, which
    /// never stop a string.
    @inline(__always)
    private static func wordHasStoppingByte(_ word: UInt64) -> Bool {
        let quotes = word ^ (lowBits &* UInt64(UInt8(ascii: "\"")))
        let backslashes = word ^ (lowBits &* UInt64(UInt8(ascii: "\\")))
        let zeroByteInQuotes = (quotes &- lowBits) & ~quotes
        let zeroByteInBackslashes = (backslashes &- lowBits) & ~backslashes
        let belowSpace = (word &- lowBits &* 0x20) & ~word
        return (zeroByteInQuotes | zeroByteInBackslashes | belowSpace) & highBits != 0
    }

    /// The OR of a word's eight bytes.
    @inline(__always)
    private static func foldedBytes(_ word: UInt64) -> UInt8 {
        var folded = word | (word >> 32)
        folded |= folded >> 16
        folded |= folded >> 8
        return UInt8(truncatingIfNeeded: folded)
    }

    /// Reads the rest of a string that has escapes; stops on the closing quote, not past it.
    private mutating func continueEscapedString(into utf8: inout [UInt8]) throws(JSONParseError) {
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                position += 1
                try appendEscape(into: &utf8)
            case ..<0x20:
                throw failure("unescaped control character in a string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func appendEscape(into utf8: inout [UInt8]) throws(JSONParseError) {
        guard let escaped = current else { throw failure("unterminated escape") }
        position += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"): try appendUnicodeEscape(into: &utf8)
        default: throw failure("invalid escape")
        }
    }

    private mutating func appendUnicodeEscape(into utf8: inout [UInt8]) throws(JSONParseError) {
        let first = try parseHexQuad()
        var scalarValue = first
        if (0xD800...0xDBFF).contains(first) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                throw failure("unpaired surrogate in \\u escape")
            }
            position += 2
            let second = try parseHexQuad()
            guard (0xDC00...0xDFFF).contains(second) else { throw failure("unpaired surrogate in \\u escape") }
            scalarValue = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw failure("unpaired surrogate in \\u escape") }
        utf8.append(contentsOf: String(Character(scalar)).utf8)
    }

    private mutating func parseHexQuad() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw failure("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
