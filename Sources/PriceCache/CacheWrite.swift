import RedisPool

/// One key to set, with its TTL, as the write script takes it.
///
/// Every family goes through the same script, so any mix of writes (a Kinesis batch of signals
/// and alert statuses) is one pipeline of `EVALSHA` calls: one round trip, and every value set in
/// the same atomic step as its TTL.
public struct CacheWrite: Sendable, Hashable {
    enum Shape: String, Sendable {
        case hash
        case string
    }

    public let key: String
    let shape: Shape
    let family: KeyFamily
    /// When set, the write is skipped if the cached value's timestamp is newer (Kinesis and SQS
    /// redeliver and reorder on retries; an old bar must not replace a newer one).
    let latestWins: EpochSeconds?
    let values: [String]

    public static func hash(key: String, fields: [(field: String, value: String)], family: KeyFamily, latestWins: EpochSeconds?) -> CacheWrite {
        CacheWrite(key: key, shape: .hash, family: family, latestWins: latestWins, values: fields.flatMap { [$0.field, $0.value] })
    }

    public static func string(key: String, value: String, family: KeyFamily, latestWins: EpochSeconds?) -> CacheWrite {
        CacheWrite(key: key, shape: .string, family: family, latestWins: latestWins, values: [value])
    }

    /// The script call: KEYS = [key]; ARGV = [shape, ttl, timestamp or "", values...].
    var scriptCall: (keys: [[UInt8]], arguments: [[UInt8]]) {
        let head = [shape.rawValue, String(family.ttlSeconds), latestWins?.description ?? ""]
        return (keys: [Array(key.utf8)], arguments: (head + values).map { Array($0.utf8) })
    }

    /// Compares timestamps as numbers in Lua (whole seconds up to 10 digits are exact in a double).
    /// An equal timestamp overwrites: a redelivery of the same update is harmless and refreshes the TTL.
    /// A cached value whose timestamp cannot be read never blocks a write.
    /// Replies 1 when written, 0 when skipped as stale.
    static let script = RedisScript("""
        local key, shape, ttl, stamp = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
        if stamp then
          local cached
          if shape == 'hash' then
            cached = tonumber(redis.call('HGET', key, 'timestamp'))
          else
            local current = redis.call('GET', key)
            if current then
              local ok, decoded = pcall(cjson.decode, current)
              if ok and type(decoded) == 'table' then cached = tonumber(decoded['timestamp']) end
            end
          end
          if cached and cached > stamp then return 0 end
        end
        if shape == 'hash' then
          redis.call('HSET', key, unpack(ARGV, 4))
          redis.call('EXPIRE', key, ttl)
        else
          redis.call('SET', key, ARGV[4], 'EX', ttl)
        end
        return 1
        """, isIdempotent: true)
}

/// What happened to one write.
public enum WriteOutcome: Sendable, Equatable {
    case written
    /// A newer value was already cached; nothing changed. Counted, not an error.
    case stale
}
