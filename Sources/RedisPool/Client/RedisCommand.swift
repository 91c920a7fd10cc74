/// One command: its name and arguments, each a binary-safe byte string.
public struct RedisCommand: Sendable, Hashable {
    public let arguments: [[UInt8]]

    /// `RedisCommand("HSET", "price:AAPL", "close", "1.5")`
    public init(_ parts: String...) {
        self.arguments = parts.map { Array($0.utf8) }
    }

    public init(_ name: String, arguments: [String]) {
        self.arguments = [Array(name.utf8)] + arguments.map { Array($0.utf8) }
    }

    public init(arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// The command name in upper case (`""` for an empty command).
    public var name: String {
        guard let first = arguments.first else { return "" }
        return String(decoding: first, as: UTF8.self).uppercased()
    }

    /// Whether running it twice leaves the same state as running it once, so a reply lost to a
    /// timeout or a dropped connection may be retried. Unknown commands are assumed not to be.
    public var isIdempotent: Bool {
        let name = name
        if Self.idempotentCommands.contains(name) { return true }
        if name == "SET" {
            // SET k v [EX s] is idempotent; GET returns the old value (which the first run
            // changed) and NX/XX make the reply depend on whether the first run happened.
            let options = arguments.dropFirst(3).map { String(decoding: $0, as: UTF8.self).uppercased() }
            return !options.contains { ["GET", "NX", "XX"].contains($0) }
        }
        return false
    }

    private static let idempotentCommands: Set<String> = [
        // Reads.
        "GET", "MGET", "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "EXISTS",
        "TTL", "PTTL", "TYPE", "STRLEN", "GETRANGE", "SMEMBERS", "SISMEMBER", "SCARD", "ZRANGE",
        "ZSCORE", "ZCARD", "ZRANK", "LRANGE", "LLEN", "LINDEX", "PING", "ECHO", "DBSIZE", "SCAN",
        "HSCAN", "SSCAN", "ZSCAN", "EVALSHA_RO", "EVAL_RO",
        // Writes whose second run leaves the same state.
        "SETEX", "PSETEX", "MSET", "HSET", "HMSET", "HDEL", "DEL", "UNLINK", "EXPIRE", "PEXPIRE",
        "EXPIREAT", "PEXPIREAT", "PERSIST", "SADD", "SREM", "ZREM",
    ]
}
