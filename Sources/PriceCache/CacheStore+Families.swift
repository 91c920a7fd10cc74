import RedisPool

/// Reads and writes named by key family, so callers never spell a key themselves.
extension CacheStore {
    public typealias HashFields = [(field: String, value: String)]

    /// Each symbol's cached bar (nil when absent or expired), in one round trip.
    public func prices(_ symbols: [Symbol], deadline: ContinuousClock.Instant?) throws(RedisError) -> [HashFields?] {
        try hashes(symbols.map(KeyFamily.priceKey), deadline: deadline)
    }

    /// The session's watch list, nil when there is no session. Entries that are not valid
    /// symbols (written by someone else) are dropped rather than turned into keys.
    public func activeSymbols(of userID: Identifier, deadline: ContinuousClock.Instant?) throws(RedisError) -> [Symbol]? {
        guard let session = try hashes([KeyFamily.sessionKey(userID)], deadline: deadline).first ?? nil else { return nil }
        let list = session.first(where: { $0.field == "active_symbols" })?.value ?? ""
        return list.split(separator: ",").compactMap { try? Symbol(String($0)) }
    }

    /// The stored JSON text of a signal, nil when absent or expired.
    public func signal(_ symbol: Symbol, strategyID: Identifier, deadline: ContinuousClock.Instant?) throws(RedisError) -> String? {
        try strings([KeyFamily.signalKey(symbol, strategyID: strategyID)], deadline: deadline).first ?? nil
    }

    public func alertStatus(_ alertID: Identifier, deadline: ContinuousClock.Instant?) throws(RedisError) -> String? {
        try strings([KeyFamily.alertStatusKey(alertID)], deadline: deadline).first ?? nil
    }
}
