import RedisPool
import Synchronization

/// The cache's reads and writes over one Redis client (a single primary's `RedisClient` or a
/// `ClusterClient`), made once per process and shared by every invocation. Each operation is one
/// round trip per node, whatever the number of keys.
public final class CacheStore: Sendable {
    let client: any RedisCommandRunner

    /// Set once a cluster node could not run `CacheWrite.nodeScript` (a server before Redis 7):
    /// batches then go by slot only.
    let nodeScriptRefused = Mutex(false)

    public init(client: any RedisCommandRunner) {
        self.client = client
    }

    /// At most this many writes go into one script call. Redis runs a script without serving
    /// anyone else, so a Kinesis batch of 10,000 records is cut into calls of a few hundred
    /// microseconds each (all still sent in one write, one round trip) rather than one call that
    /// would hold every other client, the serving layer's reads included, for tens of milliseconds.
    static let maximumWritesPerScriptCall = 100

    /// Runs every write in one round trip: one script call per `maximumWritesPerScriptCall`
    /// writes, pipelined. A write that Redis refuses (a key of the wrong type, say) fails alone;
    /// losing the connection throws, since then nothing is known. Against a cluster the calls
    /// are cut by node instead (`writeByNode`), and a shard that cannot be reached fails only
    /// its own writes.
    public func write(_ writes: [CacheWrite], deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<WriteOutcome, RedisError>] {
        guard !writes.isEmpty else { return [] }
        // One write names one key, so one slot: the same call serves a single primary and a cluster.
        if writes.count == 1 { return [try writeAlone(writes[0], deadline: deadline)] }
        if let table = try client.routingTable(deadline: deadline) { return try writeByNode(writes, table: table, deadline: deadline) }
        let chunks = stride(from: 0, to: writes.count, by: Self.maximumWritesPerScriptCall).map {
            writes[$0..<min($0 + Self.maximumWritesPerScriptCall, writes.count)]
        }
        let replies = try client.runPipelined(CacheWrite.script, calls: chunks.map(CacheWrite.scriptCall(for:)), deadline: deadline)
        var outcomes: [Result<WriteOutcome, RedisError>] = []
        outcomes.reserveCapacity(writes.count)
        for (chunk, reply) in zip(chunks, replies) {
            outcomes += Self.outcomes(of: reply, writeCount: chunk.count)
        }
        return outcomes
    }

    /// One write (a direct invoke's): the single-write script, a third cheaper for Redis than the
    /// batch script with one write, same semantics and reply.
    private func writeAlone(_ write: CacheWrite, deadline: ContinuousClock.Instant?) throws(RedisError) -> Result<WriteOutcome, RedisError> {
        let replies = try client.runPipelined(CacheWrite.singleWriteScript, calls: [write.singleScriptCall], deadline: deadline)
        guard let reply = replies.first else { return .failure(RedisError(.protocolError, "no reply to the cache write script")) }
        return Self.outcomes(of: reply, writeCount: 1)[0]
    }

    /// One script call's reply read write by write; an error for the whole call (the script
    /// could not run) is every one of its writes' failure.
    static func outcomes(of reply: Result<RESPValue, RedisError>, writeCount: Int) -> [Result<WriteOutcome, RedisError>] {
        let perWrite: [RESPValue]
        switch reply {
        case .failure(let error):
            return Array(repeating: .failure(error), count: writeCount)
        case .success(let value):
            guard let elements = value.arrayValue, elements.count == writeCount else {
                return Array(repeating: .failure(unexpected(value, from: "the cache write script")), count: writeCount)
            }
            perWrite = elements
        }
        return perWrite.map { value in
            switch value {
            case .integer(1): .success(.written)
            case .integer(0): .success(.stale)
            case .error(let text): .failure(RedisError.fromReply(text))
            default: .failure(unexpected(value, from: "the cache write script"))
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
