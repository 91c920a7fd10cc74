/// One reply from the server, RESP2 and RESP3 alike.
///
/// Error replies are values here (`.error`), not thrown errors: the parser knows nothing of what a
/// reply means. The client turns them into `RedisError.Kind.server(code:)`.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    /// RESP2 `$-1` and `*-1`, RESP3 `_`.
    case null
    case array([RESPValue])
    // RESP3 types: parsed so a server that answers in RESP3 never breaks the stream.
    case double(Double)
    case boolean(Bool)
    case bigNumber(String)
    /// The payload without its three-letter format prefix (`txt:`, `mkd:`).
    case verbatimString([UInt8])
    /// Keys and values flattened in order: k1, v1, k2, v2, ...
    case map([RESPValue])
    case set([RESPValue])
    case push([RESPValue])
    /// A RESP3 attribute (`|`) is metadata sent before the reply it describes; both are kept.
    indirect case attributed(attributes: [RESPValue], value: RESPValue)

    /// A simple, bulk or verbatim string as UTF-8 (invalid sequences repaired, never a crash).
    public var stringValue: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes), .verbatimString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .attributed(_, let value): value.stringValue
        default: nil
        }
    }

    /// The raw bytes of a simple, bulk or verbatim string.
    public var bytesValue: [UInt8]? {
        switch self {
        case .simpleString(let text): Array(text.utf8)
        case .bulkString(let bytes), .verbatimString(let bytes): bytes
        case .attributed(_, let value): value.bytesValue
        default: nil
        }
    }

    public var integerValue: Int64? {
        switch self {
        case .integer(let number): number
        case .attributed(_, let value): value.integerValue
        default: nil
        }
    }

    /// The elements of an array, set, push or (flattened) map.
    public var arrayValue: [RESPValue]? {
        switch self {
        case .array(let elements), .set(let elements), .push(let elements), .map(let elements): elements
        case .attributed(_, let value): value.arrayValue
        default: nil
        }
    }

    public var isNull: Bool {
        switch self {
        case .null: true
        case .attributed(_, let value): value.isNull
        default: false
        }
    }
}
