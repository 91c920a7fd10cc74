/// The `/next` response headers the runtime reads, gathered one header line at a time as libcurl
/// hands them over. Pure: no I/O, no clock.
struct InvocationHeaders: Equatable {
    var requestID: String?
    var deadlineMillisecondsSinceEpoch: Int64?
    var invokedFunctionARN: String?
    var traceID: String?
    var clientContext: String?
    var cognitoIdentity: String?
    var tenantID: String?
    /// Lets the body buffer be sized once instead of growing through a 6 MB event.
    var contentLength: Int?

    /// Lowercased names, compared without building a String for every header line; the order is
    /// the one `assign` follows.
    private static let textFieldNames: [[UInt8]] = [
        RuntimeAPI.Header.requestID, RuntimeAPI.Header.invokedFunctionARN, RuntimeAPI.Header.traceID,
        RuntimeAPI.Header.clientContext, RuntimeAPI.Header.cognitoIdentity, RuntimeAPI.Header.tenantID,
    ].map { Array($0.lowercased().utf8) }

    private mutating func assign(_ value: String?, toFieldAt index: Int) {
        switch index {
        case 0: requestID = value
        case 1: invokedFunctionARN = value
        case 2: traceID = value
        case 3: clientContext = value
        case 4: cognitoIdentity = value
        default: tenantID = value
        }
    }

    private static let deadlineName = Array(RuntimeAPI.Header.deadline.lowercased().utf8)
    private static let contentLengthName = Array("content-length".utf8)
    private static let statusLinePrefix = Array("HTTP/".utf8)

    /// Takes one raw header line (`Name: value\r\n`). A status line starts a new response, so it
    /// forgets what an earlier one (an interim `100 Continue`) said. Malformed lines are ignored.
    mutating func consume(line: UnsafeBufferPointer<UInt8>) {
        if line.starts(with: Self.statusLinePrefix) {
            self = InvocationHeaders()
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = line[line.startIndex..<colon]
        let value = Self.trimmed(line[(colon + 1)...])
        if let index = Self.textFieldNames.firstIndex(where: { Self.equalsIgnoringCase(name, lowercased: $0) }) {
            // An empty header is as good as an absent one (an empty request id is no id).
            assign(value.isEmpty ? nil : String(decoding: value, as: UTF8.self), toFieldAt: index)
        } else if Self.equalsIgnoringCase(name, lowercased: Self.deadlineName) {
            deadlineMillisecondsSinceEpoch = Self.decimal(value)
        } else if Self.equalsIgnoringCase(name, lowercased: Self.contentLengthName) {
            contentLength = Self.decimal(value).map { Int($0) }
        }
    }

    /// ASCII digits only, at most 15 of them (epoch milliseconds until the year 33658): anything
    /// else is no value rather than an overflow.
    static func decimal<Digits: Collection<UInt8>>(_ digits: Digits) -> Int64? {
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Drops the optional whitespace around a value and the line's CRLF.
    private static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        let isPadding: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
        guard let first = bytes.firstIndex(where: { !isPadding($0) }), let last = bytes.lastIndex(where: { !isPadding($0) }) else {
            return bytes[bytes.startIndex..<bytes.startIndex]
        }
        return bytes[first...last]
    }

    private static func equalsIgnoringCase(_ name: Slice<UnsafeBufferPointer<UInt8>>, lowercased expected: [UInt8]) -> Bool {
        guard name.count == expected.count else { return false }
        return zip(name, expected).allSatisfy { byte, lower in
            let folded = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            return folded == lower
        }
    }
}
