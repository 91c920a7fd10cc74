import RedisPool

/// The cache's reads and writes over one `RedisClient`, made once per process and shared by
/// every invocation. Each operation is one round trip, whatever the number of keys.
public final class CacheStore: Sendable {
    private let client: RedisClient

    public init(client: RedisClient) {
        self.client = client
    }

    /// Runs every write as one pipeline of script calls. A write that Redis refuses (a key of
    /// the wrong type, say) fails alone; losing the connection throws, since then nothing is known.
    public func write(_ writes: [CacheWrite], deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<WriteOutcome, RedisError>] {
        guard !writes.isEmpty else { return [] }
        let replies = try client.runPipelined(CacheWrite.script, calls: writes.map(\.scriptCall), deadline: deadline)
        return replies.map { reply in
            reply.flatMap { value in
                switch value.integerValue {
                case 1: .success(.written)
                case 0: .success(.stale)
                default: .failure(unexpected(value, from: "the cache write script"))
                }
            }
        }
    }

    /// `HGETALL` of each key, pipelined; nil for a key that does not exist (Redis answers an
    /// empty hash for it). Fields come in the server's order.
    public func hashes(_ keys: [String], deadline: ContinuousClock.Instant?) throws(RedisError) -> [[(field: String, value: String)]?] {
        try pipelinedReads(keys.map { RedisCommand("HGETALL", $0) }, deadline: deadline) { reply throws(RedisError) in
            guard let flat = reply.arrayValue else { throw unexpected(reply, from: "HGETALL") }
            guard !flat.isEmpty else { return nil }
            var fields: [(field: String, value: String)] = []
            var index = 0
            while index + 1 < flat.count {
                guard let field = flat[index].stringValue, let value = flat[index + 1].stringValue else {
                    throw unexpected(reply, from: "HGETALL")
                }
                fields.append((field, value))
                index += 2
            }
            return fields
        }
    }

    /// `GET` of each key, pipelined; nil for a key that does not exist.
    public func strings(_ keys: [String], deadline: ContinuousClock.Instant?) throws(RedisError) -> [String?] {
        try pipelinedReads(keys.map { RedisCommand("GET", $0) }, deadline: deadline) { reply throws(RedisError) in
            if reply.isNull { return nil }
            guard let text = reply.stringValue else { throw unexpected(reply, from: "GET") }
            return text
        }
    }

    /// Reads fail as a whole: a read answer is only useful complete.
    private func pipelinedReads<Value>(
        _ commands: [RedisCommand],
        deadline: ContinuousClock.Instant?,
        decode: (RESPValue) throws(RedisError) -> Value
    ) throws(RedisError) -> [Value] {
        guard !commands.isEmpty else { return [] }
        var values: [Value] = []
        values.reserveCapacity(commands.count)
        for reply in try client.pipeline(commands, deadline: deadline) {
            values.append(try decode(try reply.get()))
        }
        return values
    }
}

private func unexpected(_ reply: RESPValue, from command: String) -> RedisError {
    RedisError(.protocolError, "\(command) answered an unexpected reply of shape \(reply.shapeName)")
}

extension RESPValue {
    /// The reply's kind without its content (content could be anything a key holds).
    fileprivate var shapeName: String {
        switch self {
        case .simpleString: "simple string"
        case .error: "error"
        case .integer: "integer"
        case .bulkString: "bulk string"
        case .null: "null"
        case .array: "array"
        case .double: "double"
        case .boolean: "boolean"
        case .bigNumber: "big number"
        case .verbatimString: "verbatim string"
        case .map: "map"
        case .set: "set"
        case .push: "push"
        case .attributed: "attributed reply"
        }
    }
}
