/// An incremental RESP2/RESP3 reply parser that never touches a socket.
///
/// Bytes go in with `append`, complete replies come out of `next()`; `nil` means "need more
/// bytes". A reply is parsed again from its first byte when it was incomplete: replies are small
/// and this keeps the parser a handful of pure functions (as hiredis keeps it) instead of a
/// resumable state machine. Hostile or malformed input throws `RESPParseError` and never traps:
/// every length is range-checked against `Limits` before it is used.
public struct RESPParser: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Nesting of aggregates (arrays, maps, sets, pushes, attributes).
        public var maximumDepth: Int
        /// Redis itself refuses bulk strings above 512 MB (`proto-max-bulk-len`).
        public var maximumBulkLength: Int
        public var maximumAggregateCount: Int
        /// A simple string, error, number or header line with no CRLF after this many bytes.
        public var maximumLineLength: Int

        public init(
            maximumDepth: Int = 32,
            maximumBulkLength: Int = 512 * 1024 * 1024,
            maximumAggregateCount: Int = 1 << 20,
            maximumLineLength: Int = 64 * 1024
        ) {
            self.maximumDepth = maximumDepth
            self.maximumBulkLength = maximumBulkLength
            self.maximumAggregateCount = maximumAggregateCount
            self.maximumLineLength = maximumLineLength
        }
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received and not yet consumed by a complete reply.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func next() throws(RESPParseError) -> RESPValue? {
        guard readIndex < buffer.count else { return nil }
        var cursor = Cursor(bytes: buffer, index: readIndex, limits: limits)
        guard let value = try cursor.value(depth: 0) else { return nil }
        readIndex = cursor.index
        compactIfWorthwhile()
        return value
    }

    /// Consumed bytes are dropped once they are the larger part of the buffer: amortised O(1).
    private mutating func compactIfWorthwhile() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}

/// Why bytes from the server could not be a RESP reply.
public struct RESPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { "RESP protocol error: \(reason)" }
}

/// One parse attempt over the buffered bytes. `nil` results mean "incomplete", never "invalid".
private struct Cursor {
    let bytes: [UInt8]
    var index: Int
    let limits: RESPParser.Limits

    private static let carriageReturn = UInt8(ascii: "\r")
    private static let lineFeed = UInt8(ascii: "\n")

    mutating func value(depth: Int) throws(RESPParseError) -> RESPValue? {
        guard index < bytes.count else { return nil }
        let marker = bytes[index]
        let start = index
        index += 1
        let parsed: RESPValue?
        switch marker {
        case UInt8(ascii: "$"): parsed = try bulk(nullable: true).map { $0.map(RESPValue.bulkString) ?? .null }
        case UInt8(ascii: "!"): parsed = try bulk(nullable: false).map { .error(text($0 ?? [])) }
        case UInt8(ascii: "="): parsed = try verbatim()
        case UInt8(ascii: "*"): parsed = try aggregate(depth: depth, perEntry: 1, nullable: true).map { $0.map(RESPValue.array) ?? .null }
        case UInt8(ascii: "%"): parsed = try aggregate(depth: depth, perEntry: 2, nullable: false).map { .map($0 ?? []) }
        case UInt8(ascii: "~"): parsed = try aggregate(depth: depth, perEntry: 1, nullable: false).map { .set($0 ?? []) }
        case UInt8(ascii: ">"): parsed = try aggregate(depth: depth, perEntry: 1, nullable: false).map { .push($0 ?? []) }
        case UInt8(ascii: "|"): parsed = try attributed(depth: depth)
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"),
             UInt8(ascii: "#"), UInt8(ascii: ","), UInt8(ascii: "("):
            guard let content = try line() else {
                parsed = nil
                break
            }
            parsed = try Self.lineValue(marker: marker, content: content)
        default:
            throw RESPParseError(reason: "unknown type byte 0x\(String(marker, radix: 16))")
        }
        if parsed == nil { index = start }
        return parsed
    }

    /// The bytes up to CRLF (CRLF consumed); a lone CR or LF inside a line is refused.
    private mutating func line() throws(RESPParseError) -> ArraySlice<UInt8>? {
        let start = index
        var position = start
        while position < bytes.count {
            let byte = bytes[position]
            if byte == Self.carriageReturn {
                guard position + 1 < bytes.count else { return nil }
                guard bytes[position + 1] == Self.lineFeed else {
                    throw RESPParseError(reason: "carriage return not followed by line feed")
                }
                index = position + 2
                return bytes[start..<position]
            }
            if byte == Self.lineFeed {
                throw RESPParseError(reason: "line feed without carriage return")
            }
            position += 1
            if position - start > limits.maximumLineLength {
                throw RESPParseError(reason: "line longer than \(limits.maximumLineLength) bytes")
            }
        }
        return nil
    }

    /// `$len\r\n<len bytes>\r\n`; `.some(nil)` is the RESP2 null bulk string.
    private mutating func bulk(nullable: Bool) throws(RESPParseError) -> [UInt8]?? {
        guard let header = try line() else { return nil }
        let length = try Self.integer(header)
        if length == -1 && nullable { return .some(nil) }
        guard length >= 0 else { throw RESPParseError(reason: "negative bulk length \(length)") }
        guard length <= limits.maximumBulkLength else {
            throw RESPParseError(reason: "bulk length \(length) above the limit of \(limits.maximumBulkLength)")
        }
        let count = Int(length)
        guard bytes.count - index >= count + 2 else { return nil }
        let payload = Array(bytes[index..<(index + count)])
        guard bytes[index + count] == Self.carriageReturn, bytes[index + count + 1] == Self.lineFeed else {
            throw RESPParseError(reason: "bulk string not terminated by CRLF")
        }
        index += count + 2
        return .some(payload)
    }

    private mutating func verbatim() throws(RESPParseError) -> RESPValue? {
        guard let payload = try bulk(nullable: false) else { return nil }
        let bytes = payload ?? []
        guard bytes.count >= 4, bytes[3] == UInt8(ascii: ":") else {
            throw RESPParseError(reason: "verbatim string without a format prefix")
        }
        return .verbatimString(Array(bytes[4...]))
    }

    /// `*n` / `%n` / `~n` / `>n` followed by n (or 2n for maps) values. The declared count is
    /// never used to reserve memory: a hostile count costs nothing until its elements arrive.
    private mutating func aggregate(depth: Int, perEntry: Int, nullable: Bool) throws(RESPParseError) -> [RESPValue]?? {
        guard let header = try line() else { return nil }
        let declared = try Self.integer(header)
        if declared == -1 && nullable { return .some(nil) }
        guard declared >= 0 else { throw RESPParseError(reason: "negative aggregate length \(declared)") }
        guard declared <= limits.maximumAggregateCount else {
            throw RESPParseError(reason: "aggregate of \(declared) elements above the limit of \(limits.maximumAggregateCount)")
        }
        guard depth < limits.maximumDepth else {
            throw RESPParseError(reason: "nesting deeper than \(limits.maximumDepth)")
        }
        let count = Int(declared) * perEntry
        var elements: [RESPValue] = []
        for _ in 0..<count {
            guard let element = try value(depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return .some(elements)
    }

    private mutating func attributed(depth: Int) throws(RESPParseError) -> RESPValue? {
        guard let attributes = try aggregate(depth: depth, perEntry: 2, nullable: false) else { return nil }
        guard let described = try value(depth: depth + 1) else { return nil }
        return .attributed(attributes: attributes ?? [], value: described)
    }

    /// The types whose whole payload is one line.
    private static func lineValue(marker: UInt8, content: ArraySlice<UInt8>) throws(RESPParseError) -> RESPValue {
        switch marker {
        case UInt8(ascii: "+"): return .simpleString(String(decoding: content, as: UTF8.self))
        case UInt8(ascii: "-"): return .error(String(decoding: content, as: UTF8.self))
        case UInt8(ascii: ":"): return .integer(try integer(content))
        case UInt8(ascii: "_"):
            guard content.isEmpty else { throw RESPParseError(reason: "null with a payload") }
            return .null
        case UInt8(ascii: "#"): return try boolean(content)
        case UInt8(ascii: ","): return try double(content)
        default: return try bigNumber(content)
        }
    }

    private func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// A strict decimal Int64: optional '-', at least one digit, no overflow.
    private static func integer(_ bytes: ArraySlice<UInt8>) throws(RESPParseError) -> Int64 {
        var digits = bytes[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { throw RESPParseError(reason: "empty number") }
        var magnitude: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw RESPParseError(reason: "invalid digit in a number")
            }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, overflowMultiply) = magnitude.multipliedReportingOverflow(by: 10)
            // Accumulating negatively reaches Int64.min, which has no positive counterpart.
            let (next, overflowAdd) = negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            guard !overflowMultiply, !overflowAdd else { throw RESPParseError(reason: "number out of range") }
            magnitude = next
        }
        return magnitude
    }

    private static func boolean(_ bytes: ArraySlice<UInt8>) throws(RESPParseError) -> RESPValue {
        switch Array(bytes) {
        case [UInt8(ascii: "t")]: return .boolean(true)
        case [UInt8(ascii: "f")]: return .boolean(false)
        default: throw RESPParseError(reason: "invalid boolean")
        }
    }

    private static func double(_ bytes: ArraySlice<UInt8>) throws(RESPParseError) -> RESPValue {
        let allowed = bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                    UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "f"), UInt8(ascii: "a")].contains(byte)
        }
        guard allowed, let number = Double(String(decoding: bytes, as: UTF8.self)) else {
            throw RESPParseError(reason: "invalid double")
        }
        return .double(number)
    }

    private static func bigNumber(_ bytes: ArraySlice<UInt8>) throws(RESPParseError) -> RESPValue {
        let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw RESPParseError(reason: "invalid big number")
        }
        return .bigNumber(String(decoding: bytes, as: UTF8.self))
    }
}
