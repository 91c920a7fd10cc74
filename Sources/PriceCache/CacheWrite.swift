import RedisPool

/// One key to set, with its TTL, as the write script takes it.
///
/// Every family goes through the same script, and one script call takes a whole batch of writes
/// (a Kinesis batch of signals and alert statuses, say): one round trip, Redis's script start-up
/// paid once rather than once per record, and every value set in the same atomic step as its TTL.
public struct CacheWrite: Sendable, Hashable {
    enum Shape: String, Sendable {
        case hash
        case string

        /// Made once: every write of a batch passes the same bytes.
        static let hashArgument = Array(Shape.hash.rawValue.utf8)
        static let stringArgument = Array(Shape.string.rawValue.utf8)

        var scriptArgument: [UInt8] {
            switch self {
            case .hash: Self.hashArgument
            case .string: Self.stringArgument
            }
        }
    }

    public let key: String
    let shape: Shape
    let family: KeyFamily
    /// When set, the write is skipped if the cached value's timestamp is newer (Kinesis and SQS
    /// redeliver and reorder on retries; an old bar must not replace a newer one).
    let latestWins: EpochSeconds?
    let values: [String]

    public static func hash(key: String, fields: [(field: String, value: String)], family: KeyFamily, latestWins: EpochSeconds?) -> CacheWrite {
        var values: [String] = []
        values.reserveCapacity(fields.count * 2)
        for (field, value) in fields {
            values.append(field)
            values.append(value)
        }
        return CacheWrite(key: key, shape: .hash, family: family, latestWins: latestWins, values: values)
    }

    public static func string(key: String, value: String, family: KeyFamily, latestWins: EpochSeconds?) -> CacheWrite {
        CacheWrite(key: key, shape: .string, family: family, latestWins: latestWins, values: [value])
    }

    /// This write's part of the script's ARGV: shape, ttl, timestamp or "", the number of values,
    /// the values. (Its key is the matching entry of KEYS.)
    var scriptArguments: [[UInt8]] {
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(4 + values.count)
        appendScriptArguments(to: &arguments)
        return arguments
    }

    private func appendScriptArguments(to arguments: inout [[UInt8]]) {
        arguments.append(shape.scriptArgument)
        arguments.append(family.ttlScriptArgument)
        arguments.append(latestWins.map { decimalBytes($0.seconds) } ?? [])
        arguments.append(decimalBytes(Int64(values.count)))
        for value in values {
            arguments.append(Array(value.utf8))
        }
    }

    /// The script call for `writes`, in order: their keys as KEYS, their arguments one after
    /// the other as ARGV.
    static func scriptCall(for writes: ArraySlice<CacheWrite>) -> (keys: [[UInt8]], arguments: [[UInt8]]) {
        var keys: [[UInt8]] = []
        keys.reserveCapacity(writes.count)
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(writes.reduce(0) { $0 + 4 + $1.values.count })
        for write in writes {
            keys.append(Array(write.key.utf8))
            write.appendScriptArguments(to: &arguments)
        }
        return (keys, arguments)
    }

    /// Runs the writes in order (a key written twice in one call sees its first write), each on
    /// its own: a write Redis refuses (`redis.pcall`: a key of the wrong type, say) answers its
    /// error in its place and the others go on. Replies an array with, per write, 1 when
    /// written, 0 when skipped as stale, or an error.
    ///
    /// Compares timestamps as numbers in Lua (whole seconds up to 10 digits are exact in a double).
    /// An equal timestamp overwrites: a redelivery of the same update is harmless and refreshes
    /// the TTL; for the same reason running the whole call twice leaves the same state, so a call
    /// whose reply was lost may be retried. A cached value whose timestamp cannot be read never
    /// blocks a write.
    static let script = RedisScript("""
        local function refused(reply)
          return type(reply) == 'table' and reply.err ~= nil
        end
        local function cachedStamp(key, shape)
          if shape == 'hash' then
            local current = redis.pcall('HGET', key, 'timestamp')
            if refused(current) then return nil, current end
            return tonumber(current)
          end
          local current = redis.pcall('GET', key)
          if refused(current) then return nil, current end
          if current then
            local ok, decoded = pcall(cjson.decode, current)
            if ok and type(decoded) == 'table' then return tonumber(decoded['timestamp']) end
          end
          return nil
        end
        local function write(key, shape, ttl, stamp, first, last)
          if stamp then
            local cached, failure = cachedStamp(key, shape)
            if failure then return failure end
            if cached and cached > stamp then return 0 end
          end
          local reply
          if shape == 'hash' then
            reply = redis.pcall('HSET', key, unpack(ARGV, first, last))
            if not refused(reply) then reply = redis.pcall('EXPIRE', key, ttl) end
          else
            reply = redis.pcall('SET', key, ARGV[first], 'EX', ttl)
          end
          if refused(reply) then return reply end
          return 1
        end
        local results, cursor = {}, 1
        for index, key in ipairs(KEYS) do
          local count = tonumber(ARGV[cursor + 3])
          local first = cursor + 4
          results[index] = write(key, ARGV[cursor], ARGV[cursor + 1], tonumber(ARGV[cursor + 2]), first, first + count - 1)
          cursor = first + count
        end
        return results
        """, isIdempotent: true)
}

extension KeyFamily {
    private static let priceTTL = decimalBytes(Int64(KeyFamily.price.ttlSeconds))
    private static let signalTTL = decimalBytes(Int64(KeyFamily.signal.ttlSeconds))
    private static let alertStatusTTL = decimalBytes(Int64(KeyFamily.alertStatus.ttlSeconds))
    private static let sessionTTL = decimalBytes(Int64(KeyFamily.session.ttlSeconds))

    /// The TTL as the script's argument, made once per family.
    var ttlScriptArgument: [UInt8] {
        switch self {
        case .price: Self.priceTTL
        case .signal: Self.signalTTL
        case .alertStatus: Self.alertStatusTTL
        case .session: Self.sessionTTL
        }
    }
}

/// The decimal digits of a non-negative number, written straight into bytes (no String between).
private func decimalBytes(_ value: Int64) -> [UInt8] {
    guard value > 0 else { return [UInt8(ascii: "0")] }
    var digits: [UInt8] = []
    digits.reserveCapacity(20)
    var remaining = value
    while remaining > 0 {
        digits.append(UInt8(ascii: "0") + UInt8(remaining % 10))
        remaining /= 10
    }
    digits.reverse()
    return digits
}

/// What happened to one write.
public enum WriteOutcome: Sendable, Equatable {
    case written
    /// A newer value was already cached; nothing changed. Counted, not an error.
    case stale
}
