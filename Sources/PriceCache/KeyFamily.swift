/// The four key families other services read, with their exact names and lifetimes.
/// (The serving layer relies on both: a renamed key or a longer TTL is a breaking change.)
public enum KeyFamily: Sendable, CaseIterable {
    /// `price:{symbol}`: a hash of the latest bar.
    case price
    /// `signal:{symbol}:{strategy_id}`: a JSON string.
    case signal
    /// `alert:status:{alert_id}`: `triggered`, `pending` or `disabled`.
    case alertStatus
    /// `session:{user_id}`: a hash of what a user is watching.
    case session

    public var ttlSeconds: Int {
        switch self {
        case .price: 300
        case .signal: 3600
        case .alertStatus: 86_400
        case .session: 1800
        }
    }

    public static func priceKey(_ symbol: Symbol) -> String { "price:\(symbol)" }
    public static func signalKey(_ symbol: Symbol, strategyID: Identifier) -> String { "signal:\(symbol):\(strategyID)" }
    public static func alertStatusKey(_ alertID: Identifier) -> String { "alert:status:\(alertID)" }
    public static func sessionKey(_ userID: Identifier) -> String { "session:\(userID)" }
}
