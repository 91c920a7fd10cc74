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
    /// A hash's field names, in order (empty for a string).
    let fieldNames: [String]
    /// A hash's values, one per field name; a string's one value.
    let values: [String]

    public static func hash(key: String, fields: [(field: String, value: String)], family: KeyFamily, latestWins: EpochSeconds?) -> CacheWrite {
        CacheWrite(
            key: key, shape: .hash, family: family, latestWins: latestWins,
            fieldNames: fields.map(\.field), values: fields.map(\.value))
    }

    public static func string(key: String, value: String, family: KeyFamily, latestWins: EpochSeconds?) -> CacheWrite {
        CacheWrite(key: key, shape: .string, family: family, latestWins: latestWins, fieldNames: [], values: [value])
    }

    /// The script's ARGV for this write alone.
    var scriptArguments: [[UInt8]] {
        Self.scriptCall(for: [self][...]).arguments
    }

    /// Whether `other` can share this write's group header (same shape, TTL and field names).
    private func sharesGroup(with other: CacheWrite) -> Bool {
        shape == other.shape && family.ttlSeconds == other.family.ttlSeconds && fieldNames == other.fieldNames
    }

    /// The script call for `writes`, in order: their keys as KEYS; as ARGV, consecutive writes of
    /// the same shape, TTL and field names as one group: shape, ttl, the number of field names,
    /// the field names, the number of writes, then per write its timestamp or "" and its values.
    /// A batch of price updates is one group, so the seven field names, the shape and the TTL go
    /// once per call instead of once per record: less to encode, send, parse, and for Lua to
    /// turn into the ARGV table (most of a batch's cost inside Redis).
    static func scriptCall(for writes: ArraySlice<CacheWrite>) -> (keys: [[UInt8]], arguments: [[UInt8]]) {
        var keys: [[UInt8]] = []
        keys.reserveCapacity(writes.count)
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(writes.reduce(0) { $0 + 1 + $1.values.count } + 16)
        var groupStart: CacheWrite?
        var groupCountIndex = 0
        var groupCount: Int64 = 0
        for write in writes {
            keys.append(Array(write.key.utf8))
            if groupStart.map({ !$0.sharesGroup(with: write) }) ?? true {
                if groupStart != nil { arguments[groupCountIndex] = decimalBytes(groupCount) }
                groupStart = write
                groupCount = 0
                arguments.append(write.shape.scriptArgument)
                arguments.append(write.family.ttlScriptArgument)
                arguments.append(decimalBytes(Int64(write.fieldNames.count)))
                for name in write.fieldNames {
                    arguments.append(Array(name.utf8))
                }
                groupCountIndex = arguments.count
                arguments.append([])
            }
            groupCount += 1
            arguments.append(write.latestWins.map { decimalBytes($0.seconds) } ?? [])
            for value in write.values {
                arguments.append(Array(value.utf8))
            }
        }
        if groupStart != nil { arguments[groupCountIndex] = decimalBytes(groupCount) }
        return (keys, arguments)
    }

    /// The ARGV of `singleWriteScript` for this write: shape, ttl, timestamp or "", then a hash's
    /// field/value pairs in `HSET`'s order (Lua passes them on with one `unpack`) or a string's value.
    var singleScriptCall: (keys: [[UInt8]], arguments: [[UInt8]]) {
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(3 + fieldNames.count + values.count)
        arguments.append(shape.scriptArgument)
        arguments.append(family.ttlScriptArgument)
        arguments.append(latestWins.map { decimalBytes($0.seconds) } ?? [])
        if shape == .hash {
            for (name, value) in zip(fieldNames, values) {
                arguments.append(Array(name.utf8))
                arguments.append(Array(value.utf8))
            }
        } else {
            arguments.append(Array(values[0].utf8))
        }
        return ([Array(key.utf8)], arguments)
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
    ///
    /// Globals and table fields are held in locals, and a group's HSET arguments are one table
    /// whose value slots are overwritten per write: Lua's per-record work is what a batch's
    /// script call spends most of its time on.
    static let script = RedisScript(
        """
        local keys, argv, firstArgument = KEYS, ARGV, 1
        """ + scriptBody, isIdempotent: true)

    /// The cluster form of `script`: one call for every write a node serves, whatever their
    /// slots. A script call's declared keys must share one slot (Redis 7 answers `CROSSSLOT` to
    /// the call otherwise, whatever its flags), so the call declares only its first key (which
    /// routes it: `MOVED`/`ASK` for that key as for any command) and takes every key from ARGV:
    /// the key count, the keys, then the arguments as `scriptCall` makes them. The shebang flag
    /// `allow-cross-slot-keys` lets its commands touch keys of several slots; each command is
    /// still checked against the node's slots, so a key the node does not serve now (its slot
    /// moved, or is migrating and the key is already gone) is refused alone, with "Script
    /// attempted to access a non local key", and nothing is written for it: the caller writes
    /// those records again one per call (`CacheStore.writeByNode`). Otherwise a shebang script behaves as `script` does for
    /// these writes: refused as a whole under OOM (no `allow-oom`) where `script`'s writes are
    /// refused one by one, before anything was written in both cases.
    static let nodeScript = RedisScript(
        """
        #!lua flags=allow-cross-slot-keys
        local argv = ARGV
        local keys, declaredKeys = {}, tonumber(argv[1])
        for position = 1, declaredKeys do keys[position] = argv[position + 1] end
        local firstArgument = declaredKeys + 2
        """ + scriptBody, isIdempotent: true)

    /// The node script's call for `writes` (see `nodeScript`).
    static func nodeScriptCall(for writes: ArraySlice<CacheWrite>) -> (keys: [[UInt8]], arguments: [[UInt8]]) {
        let call = scriptCall(for: writes)
        return (Array(call.keys.prefix(1)), [decimalBytes(Int64(call.keys.count))] + call.keys + call.arguments)
    }

    /// The work of `script` and `nodeScript`, after their first lines have set `keys`, `argv`
    /// and `firstArgument` (the ARGV position of the first group header).
    private static let scriptBody = """

        local pcallRedis, tonumber, unpack, type, pcall, decode = redis.pcall, tonumber, unpack, type, pcall, cjson.decode
        local function refused(reply)
          return type(reply) == 'table' and reply.err ~= nil
        end
        local function cachedStamp(key, shape)
          if shape == 'hash' then
            local current = pcallRedis('HGET', key, 'timestamp')
            if refused(current) then return nil, current end
            return tonumber(current)
          end
          local current = pcallRedis('GET', key)
          if refused(current) then return nil, current end
          if current then
            local ok, decoded = pcall(decode, current)
            if ok and type(decoded) == 'table' then return tonumber(decoded['timestamp']) end
          end
          return nil
        end
        local results, cursor, index, keyCount = {}, firstArgument, 0, #keys
        while index < keyCount do
          local shape, ttl, fieldCount = argv[cursor], argv[cursor + 1], tonumber(argv[cursor + 2])
          local isHash = shape == 'hash'
          local hsetArguments, pairCount = {}, fieldCount * 2
          for field = 1, fieldCount do hsetArguments[field * 2 - 1] = argv[cursor + 2 + field] end
          cursor = cursor + 3 + fieldCount
          local writeCount = tonumber(argv[cursor])
          cursor = cursor + 1
          for _ = 1, writeCount do
            index = index + 1
            local key, stamp = keys[index], tonumber(argv[cursor])
            local result = 1
            if stamp then
              local cached, failure = cachedStamp(key, shape)
              if failure then result = failure elseif cached and cached > stamp then result = 0 end
            end
            if result == 1 then
              local reply
              if isHash then
                for field = 1, fieldCount do hsetArguments[field * 2] = argv[cursor + field] end
                reply = pcallRedis('HSET', key, unpack(hsetArguments, 1, pairCount))
                if not refused(reply) then reply = pcallRedis('EXPIRE', key, ttl) end
              else
                reply = pcallRedis('SET', key, argv[cursor + 1], 'EX', ttl)
              end
              if refused(reply) then result = reply end
            end
            results[index] = result
            cursor = cursor + 1 + (isHash and fieldCount or 1)
          end
        end
        return results
        """

    /// `script` for one write (a direct invoke, an HTTP `PUT`): the same steps, semantics and
    /// reply (an array of one element: 1, 0 or the refusal), but none of the batch's bookkeeping
    /// (no group header, loop or result table), the hash's pairs passed to `HSET` straight from
    /// ARGV, and the batch script's two helper functions (`refused`, `cachedStamp`) written inline:
    /// Redis spends most of a single write's time starting the script and building ARGV, so every
    /// closure and argument shows (BENCHMARKS.md, issue 13). The CacheStore tests check that both
    /// scripts store the same state.
    static let singleWriteScript = RedisScript(
        """
        local key, shape, ttl, stamp = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
        local isHash = shape == 'hash'
        if stamp then
          local current
          if isHash then current = redis.pcall('HGET', key, 'timestamp') else current = redis.pcall('GET', key) end
          if type(current) == 'table' and current.err ~= nil then return {current} end
          local cached
          if isHash then
            cached = tonumber(current)
          elseif current then
            local ok, decoded = pcall(cjson.decode, current)
            if ok and type(decoded) == 'table' then cached = tonumber(decoded['timestamp']) end
          end
          if cached and cached > stamp then return {0} end
        end
        local reply
        if isHash then
          reply = redis.pcall('HSET', key, unpack(ARGV, 4))
          if not (type(reply) == 'table' and reply.err ~= nil) then reply = redis.pcall('EXPIRE', key, ttl) end
        else
          reply = redis.pcall('SET', key, ARGV[4], 'EX', ttl)
        end
        if type(reply) == 'table' and reply.err ~= nil then return {reply} end
        return {1}
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
