/// An incremental RESP2/RESP3 reply parser that never touches a socket.
///
/// Bytes go in with `append`, complete replies come out of `next()`; `nil` means "need more
/// bytes". Aggregates under construction are kept on an explicit stack (as hiredis keeps its
/// task stack), so elements already parsed are never parsed again when more bytes arrive: a
/// large reply costs linear time however it is split. Hostile or malformed input throws
/// `RESPParseError` and never traps: every length is range-checked against `Limits` before use,
/// and a declared element count reserves no memory.
///
/// Each value is limited, and so is each whole reply (`maximumReplyBytes`, `maximumReplyElements`):
/// per-value limits alone let a server send a million nested aggregates of small elements, which
/// drove one function to 790 MB. A declared bulk length or element count that would pass the
/// reply's budget is refused at its header, before its bytes are awaited or its elements built.
public struct RESPParser: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Nesting of aggregates (arrays, maps, sets, pushes, attributes).
        public var maximumDepth: Int
        /// Redis itself refuses bulk strings above 512 MB (`proto-max-bulk-len`).
        public var maximumBulkLength: Int
        public var maximumAggregateCount: Int
        /// A simple string, error, number or header line with no CRLF after this many bytes.
        public var maximumLineLength: Int
        /// Bytes of one reply, from its first type byte to its last CRLF.
        public var maximumReplyBytes: Int
        /// Values in one reply, counting the reply itself and every aggregate and element in it.
        public var maximumReplyElements: Int

        /// The functions' largest legitimate reply is a batch's: one array of one small value per
        /// record, or a multi-symbol read of a few hundred hashes. 64 MiB and 4 Mi values leave a
        /// wide margin while keeping a hostile reply's parsed form to a few hundred MB at worst.
        public static let defaultMaximumReplyBytes = 64 * 1024 * 1024
        public static let defaultMaximumReplyElements = 4 * 1024 * 1024

        public init(
            maximumDepth: Int = 32,
            maximumBulkLength: Int = 512 * 1024 * 1024,
            maximumAggregateCount: Int = 1 << 20,
            maximumLineLength: Int = 64 * 1024,
            maximumReplyBytes: Int = defaultMaximumReplyBytes,
            maximumReplyElements: Int = defaultMaximumReplyElements
        ) {
            self.maximumDepth = maximumDepth
            self.maximumBulkLength = maximumBulkLength
            self.maximumAggregateCount = maximumAggregateCount
            self.maximumLineLength = maximumLineLength
            self.maximumReplyBytes = maximumReplyBytes
            self.maximumReplyElements = maximumReplyElements
        }
    }

    /// What the reply being parsed has used of its budget.
    private struct ReplyUsage: Sendable {
        var bytes = 0
        /// Values seen or announced: 1 for the reply, plus every aggregate's declared count
        /// (each element is announced by its parent, so counted once, before it arrives).
        var elements = 1
    }

    /// An aggregate whose elements are still arriving.
    private struct Frame: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESPValue] = []
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var stack: [Frame] = []
    private var usage = ReplyUsage()

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// No bytes buffered and no reply half-parsed: the stream is between replies.
    public var isIdle: Bool { readIndex == buffer.count && stack.isEmpty }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func next() throws(RESPParseError) -> RESPValue? {
        defer { compactIfWorthwhile() }
        while let item = try nextItem() {
            var completed: RESPValue
            switch item {
            case .value(let value):
                completed = value
            case .aggregate(let kind, let count):
                guard stack.count < limits.maximumDepth else {
                    throw RESPParseError(reason: "nesting deeper than \(limits.maximumDepth)")
                }
                try announce(count)
                guard count == 0 else {
                    stack.append(Frame(kind: kind, remaining: count))
                    continue
                }
                guard case .attributes = kind else {
                    completed = kind.value(of: [])
                    break
                }
                try announce(1)
                stack.append(Frame(kind: .attributed([]), remaining: 1))
                continue
            }
            if let reply = fold(completed) {
                usage = ReplyUsage()
                return reply
            }
        }
        return nil
    }

    /// Counts `count` more values in the reply, refusing them past its budget.
    private mutating func announce(_ count: Int) throws(RESPParseError) {
        usage.elements += count
        guard usage.elements <= limits.maximumReplyElements else {
            throw RESPParseError(reason: "reply of more than \(limits.maximumReplyElements) values, above the per-reply budget (REDIS_MAX_REPLY_ELEMENTS)")
        }
    }

    /// Adds a finished value to the aggregate being built, closing every aggregate it completes;
    /// returns the reply once the outermost one is done.
    private mutating func fold(_ value: RESPValue) -> RESPValue? {
        var completed = value
        while !stack.isEmpty {
            let top = stack.count - 1
            stack[top].elements.append(completed)
            stack[top].remaining -= 1
            guard stack[top].remaining == 0 else { return nil }
            let frame = stack.removeLast()
            if case .attributes = frame.kind {
                // Attributes describe the value that follows them: wait for it. (Counted when
                // the attributes were announced: `announce` ran for their pairs plus this one.)
                stack.append(Frame(kind: .attributed(frame.elements), remaining: 1))
                return nil
            }
            completed = frame.kind.value(of: frame.elements)
        }
        return completed
    }

    /// Parses one scalar or one aggregate header, consuming its bytes; nil when incomplete.
    private mutating func nextItem() throws(RESPParseError) -> Item? {
        guard readIndex < buffer.count else { return nil }
        var cursor = Cursor(bytes: buffer, index: readIndex, limits: limits, replyBytesLeft: limits.maximumReplyBytes - usage.bytes)
        guard let item = try cursor.item() else { return nil }
        usage.bytes += cursor.index - readIndex
        readIndex = cursor.index
        return item
    }

    /// Consumed bytes are dropped once they are the larger part of the buffer: amortised O(1).
    private mutating func compactIfWorthwhile() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
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

private enum AggregateKind: Sendable {
    case array, map, set, push, attributes
    /// Attributes received, the value they describe still to come.
    case attributed([RESPValue])

    func value(of elements: [RESPValue]) -> RESPValue {
        switch self {
        case .array: .array(elements)
        case .map: .map(elements)
        case .set: .set(elements)
        case .push: .push(elements)
        case .attributes: .map(elements)
        case .attributed(let attributes): .attributed(attributes: attributes, value: elements.first ?? .null)
        }
    }
}

private enum Item {
    case value(RESPValue)
    /// A header announcing `count` elements (maps and attributes: twice their pair count).
    case aggregate(AggregateKind, count: Int)
}

/// Reads one item at `index`; on "incomplete" it returns nil and the caller drops the cursor.
private struct Cursor {
    let bytes: [UInt8]
    var index: Int
    let limits: RESPParser.Limits
    /// What the reply's byte budget still allows, this item included.
    let replyBytesLeft: Int
    var itemStart = 0

    private static let carriageReturn = UInt8(ascii: "\r")
    private static let lineFeed = UInt8(ascii: "\n")

    mutating func item() throws(RESPParseError) -> Item? {
        itemStart = index
        guard let item = try anyItem() else { return nil }
        // A line-sized item can pass the budget only by its last few bytes; a bulk string was
        // checked at its header already.
        guard index - itemStart <= replyBytesLeft else { throw Self.overBudget(limits) }
        return item
    }

    private static func overBudget(_ limits: RESPParser.Limits) -> RESPParseError {
        RESPParseError(reason: "reply of more than \(limits.maximumReplyBytes) bytes, above the per-reply budget (REDIS_MAX_REPLY_BYTES)")
    }

    private mutating func anyItem() throws(RESPParseError) -> Item? {
        let marker = bytes[index]
        index += 1
        switch marker {
        case UInt8(ascii: "$"):
            guard let payload = try bulk(nullable: true) else { return nil }
            return .value(payload.map(RESPValue.bulkString) ?? .null)
        case UInt8(ascii: "!"):
            guard let payload = try bulk(nullable: false) else { return nil }
            return .value(.error(String(decoding: payload ?? [], as: UTF8.self)))
        case UInt8(ascii: "="):
            guard let payload = try bulk(nullable: false) else { return nil }
            return .value(try Self.verbatim(payload ?? []))
        case UInt8(ascii: "*"): return try aggregate(.array, perEntry: 1, nullable: true)
        case UInt8(ascii: "%"): return try aggregate(.map, perEntry: 2, nullable: false)
        case UInt8(ascii: "~"): return try aggregate(.set, perEntry: 1, nullable: false)
        case UInt8(ascii: ">"): return try aggregate(.push, perEntry: 1, nullable: false)
        case UInt8(ascii: "|"): return try aggregate(.attributes, perEntry: 2, nullable: false)
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"),
            UInt8(ascii: "#"), UInt8(ascii: ","), UInt8(ascii: "("):
            guard let content = try line() else { return nil }
            return .value(try Self.lineValue(marker: marker, content: content))
        default:
            throw RESPParseError(reason: "unknown type byte 0x\(String(marker, radix: 16))")
        }
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
        // Refused before its bytes are awaited: a declared 500 MB string must not be buffered first.
        guard index - itemStart + count + 2 <= replyBytesLeft else { throw Self.overBudget(limits) }
        guard bytes.count - index >= count + 2 else { return nil }
        guard bytes[index + count] == Self.carriageReturn, bytes[index + count + 1] == Self.lineFeed else {
            throw RESPParseError(reason: "bulk string not terminated by CRLF")
        }
        let payload = Array(bytes[index..<(index + count)])
        index += count + 2
        return .some(payload)
    }

    private mutating func aggregate(_ kind: AggregateKind, perEntry: Int, nullable: Bool) throws(RESPParseError) -> Item? {
        guard let header = try line() else { return nil }
        let declared = try Self.integer(header)
        if declared == -1 && nullable { return .value(.null) }
        guard declared >= 0 else { throw RESPParseError(reason: "negative aggregate length \(declared)") }
        guard declared <= limits.maximumAggregateCount else {
            throw RESPParseError(reason: "aggregate of \(declared) elements above the limit of \(limits.maximumAggregateCount)")
        }
        return .aggregate(kind, count: Int(declared) * perEntry)
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
            let (next, overflowAdd) =
                negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            guard !overflowMultiply, !overflowAdd else { throw RESPParseError(reason: "number out of range") }
            magnitude = next
        }
        return magnitude
    }

    private static func verbatim(_ payload: [UInt8]) throws(RESPParseError) -> RESPValue {
        guard payload.count >= 4, payload[3] == UInt8(ascii: ":") else {
            throw RESPParseError(reason: "verbatim string without a format prefix")
        }
        return .verbatimString(Array(payload[4...]))
    }

    private static func boolean(_ bytes: ArraySlice<UInt8>) throws(RESPParseError) -> RESPValue {
        switch Array(bytes) {
        case [UInt8(ascii: "t")]: return .boolean(true)
        case [UInt8(ascii: "f")]: return .boolean(false)
        default: throw RESPParseError(reason: "invalid boolean")
        }
    }

    /// Digits, sign, point, exponent, or the words inf / -inf / nan that RESP3 allows.
    private static func double(_ bytes: ArraySlice<UInt8>) throws(RESPParseError) -> RESPValue {
        let allowed = Set("0123456789+-.eEinfa".utf8)
        guard bytes.allSatisfy(allowed.contains), let number = Double(String(decoding: bytes, as: UTF8.self)) else {
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
