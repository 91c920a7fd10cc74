import LambdaEvents

/// An upsert of `session:{user_id}`: the fields given replace theirs, the others stay, and the
/// whole session's TTL starts again (a session lives 30 minutes past its last update).
public struct SessionUpdate: Sendable, Hashable {
    /// A watch list longer than this is a client bug, and would make every session read slow.
    public static let maximumActiveSymbols = 200

    public let userID: Identifier
    public let activeSymbols: [Symbol]?
    /// Defaults to the time of the update: an upsert is activity.
    public let lastActive: EpochSeconds
    public let websocketConnected: Bool?

    /// Reads `{"active_symbols"?: ["AAPL", ...] or "AAPL,MSFT", "last_active"?, "websocket_connected"?: true or "true"}`.
    public init(userID: Identifier, json: JSONValue, now: EpochSeconds) throws(FieldError) {
        let fields = try JSONFields(json)
        self.userID = userID
        activeSymbols = try fields.optional("active_symbols").map { value throws(FieldError) in try Self.symbols(value) }
        lastActive = try fields.optional("last_active").map { value throws(FieldError) in try EpochSeconds(value, field: "last_active") } ?? now
        websocketConnected = try fields.optional("websocket_connected").map { value throws(FieldError) in try Self.flag(value) }
    }

    private static func symbols(_ value: JSONValue) throws(FieldError) -> [Symbol] {
        let texts: [String]
        switch value {
        case .string(let list):
            texts = list.isEmpty ? [] : list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        case .array(let elements):
            texts = try elements.enumerated().map { index, element throws(FieldError) in
                guard let text = element.stringValue else {
                    throw FieldError(field: "active_symbols[\(index)]", problem: "must be a string, got \(element.typeName)")
                }
                return text
            }
        default:
            throw FieldError(field: "active_symbols", problem: "must be an array of symbols or a comma-separated string, got \(value.typeName)")
        }
        guard texts.count <= maximumActiveSymbols else {
            throw FieldError(field: "active_symbols", problem: "must list at most \(maximumActiveSymbols) symbols, got \(texts.count)")
        }
        return try texts.enumerated().map { index, text throws(FieldError) in try Symbol(text, field: "active_symbols[\(index)]") }
    }

    private static func flag(_ value: JSONValue) throws(FieldError) -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .string("true"): return true
        case .string("false"): return false
        default:
            throw FieldError(
                field: "websocket_connected", problem: "must be true or false, got \(value.stringValue.map { FieldError.quote($0) } ?? value.typeName)")
        }
    }

    public var hashFields: [(field: String, value: String)] {
        var fields: [(field: String, value: String)] = []
        if let activeSymbols { fields.append(("active_symbols", activeSymbols.map(\.text).joined(separator: ","))) }
        fields.append(("last_active", lastActive.description))
        if let websocketConnected { fields.append(("websocket_connected", websocketConnected ? "true" : "false")) }
        return fields
    }

    public var cacheWrite: CacheWrite {
        .hash(key: KeyFamily.sessionKey(userID), fields: hashFields, family: .session, latestWins: nil)
    }
}
