#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The process-wide Redis client: a pool of connections behind blocking, thread-safe calls.
///
/// Every call takes an optional `deadline`, the caller's budget (in a Lambda handler: now plus
/// the invocation's remaining time minus a margin). The `REDIS_TIMEOUT_MS` ceilings apply to
/// each connect and each command on top of it; retries (see `RetryPolicy`) never pass it.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let pool: ConnectionPool

    /// Validates the configuration and builds the TLS context (reading the CA bundle). Opens no
    /// connection: the first command does.
    public init(configuration: RedisConfiguration) throws(RedisError) {
        try Self.validate(configuration)
        let tlsContext = configuration.useTLS ? try TLSContext(caFile: configuration.tlsCAFile) : nil
        self.configuration = configuration
        self.pool = ConnectionPool(configuration: configuration, tlsContext: tlsContext)
    }

    /// One node of a cluster: the TLS context (the CA bundle read once) is shared by every node.
    init(configuration: RedisConfiguration, sharedTLSContext: TLSContext?) throws(RedisError) {
        try Self.validate(configuration)
        self.configuration = configuration
        self.pool = ConnectionPool(configuration: configuration, tlsContext: sharedTLSContext)
    }

    private static let sharedClient = Mutex<RedisClient?>(nil)

    /// The client built from `environment` (the process environment unless the caller resolved
    /// some values first, such as a token read from Secrets Manager) on first use and reused
    /// afterwards, so a warm Lambda environment keeps its connection across invocations. A
    /// configuration error is thrown on every call (nothing is cached until a client could be built).
    public static func shared(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RedisError) -> RedisClient {
        try sharedClient.withLock { (client: inout RedisClient?) throws(RedisError) -> RedisClient in
            if let client { return client }
            let created = try RedisClient(configuration: RedisConfiguration.fromEnvironment(environment))
            client = created
            return created
        }
    }

    /// One command. A server error reply is thrown as `.server(code:)`.
    @discardableResult
    public func command(_ command: RedisCommand, deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> RESPValue {
        try execute(command, idempotent: command.isIdempotent, deadline: deadline).get()
    }

    /// N commands in one write, N results in order, errors per command; a connection-level
    /// failure is thrown. Not atomic: use `transaction` or a script for that.
    @discardableResult
    public func pipeline(_ commands: [RedisCommand], deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try pipelineResults(commands, idempotent: commands.allSatisfy(\.isIdempotent), deadline: deadline)
    }

    /// `MULTI`, the commands, `EXEC`, in one write: all run or none does. A command the server
    /// refused to queue aborts the whole transaction and is thrown; errors raised while running
    /// (`WRONGTYPE`, ...) come back per command.
    @discardableResult
    public func transaction(_ commands: [RedisCommand], deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        let wrapped = [RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")]
        let outcome = try perform(wrapped, idempotent: commands.allSatisfy(\.isIdempotent), deadline: deadline) { replies in
            let outcome = TransactionReplies.interpret(replies, commandCount: commands.count)
            guard case .failure(let abort) = outcome else { return Interpretation(output: outcome, retryReason: nil) }
            return Interpretation(output: outcome, retryReason: abort)
        }
        return try outcome.get()
    }

    /// `EVALSHA` with the script's SHA1; after `NOSCRIPT` (a restarted or failed-over server
    /// lost its script cache) the source is sent with `EVAL`, which caches it again.
    @discardableResult
    public func run(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]], deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> RESPValue {
        let result = try execute(ScriptCall.evalsha(script, keys: keys, arguments: arguments), idempotent: script.isIdempotent, deadline: deadline)
        guard case .failure(let error) = result, error.kind == .server(code: "NOSCRIPT") else { return try result.get() }
        return try execute(ScriptCall.eval(script, keys: keys, arguments: arguments), idempotent: script.isIdempotent, deadline: deadline).get()
    }

    /// `run` for several calls pipelined in one write; only the calls that met `NOSCRIPT` are
    /// sent again, with `EVAL`, in a second write.
    public func runPipelined(
        _ script: RedisScript,
        calls: [(keys: [[UInt8]], arguments: [[UInt8]])],
        deadline: ContinuousClock.Instant? = nil
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let evalshas = calls.map { ScriptCall.evalsha(script, keys: $0.keys, arguments: $0.arguments) }
        var results = try pipelineResults(evalshas, idempotent: script.isIdempotent, deadline: deadline)
        let missing = results.indices.filter {
            if case .failure(let error) = results[$0] { return error.kind == .server(code: "NOSCRIPT") }
            return false
        }
        guard !missing.isEmpty else { return results }
        let evals = missing.map { ScriptCall.eval(script, keys: calls[$0].keys, arguments: calls[$0].arguments) }
        let retried = try pipelineResults(evals, idempotent: script.isIdempotent, deadline: deadline)
        for (index, result) in zip(missing, retried) {
            results[index] = result
        }
        return results
    }

    // MARK: - Shared machinery

    private func execute(_ command: RedisCommand, idempotent: Bool, deadline: ContinuousClock.Instant?) throws(RedisError) -> Result<RESPValue, RedisError> {
        try perform([command], idempotent: idempotent, deadline: deadline) { replies in
            let result = Self.result(of: replies[0])
            guard case .failure(let error) = result else { return Interpretation(output: result, retryReason: nil) }
            return Interpretation(output: result, retryReason: error)
        }
    }

    private func pipelineResults(_ commands: [RedisCommand], idempotent: Bool, deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        return try perform(commands, idempotent: idempotent, deadline: deadline) { replies in
            let results = replies.map(Self.result(of:))
            return Interpretation(output: results, retryReason: Self.pipelineRetryReason(results, idempotent: idempotent))
        }
    }

    /// A pipeline is retried as a whole, so only when that cannot run a command twice: every
    /// command failed, or all of them are idempotent.
    private static func pipelineRetryReason(_ results: [Result<RESPValue, RedisError>], idempotent: Bool) -> RedisError? {
        let failures = results.compactMap { result -> RedisError? in
            if case .failure(let error) = result { return error }
            return nil
        }
        guard idempotent || failures.count == results.count else { return nil }
        return failures.first { RetryPolicy.isNotRunReply($0) || $0.kind == .server(code: "READONLY") }
    }

    static func result(of reply: RESPValue) -> Result<RESPValue, RedisError> {
        if case .error(let text) = reply { return .failure(RedisError.fromReply(text)) }
        return .success(reply)
    }

    private static func validate(_ configuration: RedisConfiguration) throws(RedisError) {
        guard !configuration.endpoint.isEmpty else { throw RedisError(.configuration, "the endpoint is empty") }
        guard (1...65535).contains(configuration.port) else {
            throw RedisError(.configuration, "the port \(configuration.port) is outside 1...65535")
        }
        guard configuration.timeout > .zero else { throw RedisError(.configuration, "the timeout must be positive") }
        guard configuration.poolMaximum >= 1 else { throw RedisError(.configuration, "the pool maximum must be at least 1") }
        guard !configuration.clientName.isEmpty,
              configuration.clientName.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else {
            throw RedisError(.configuration, "the client name must be printable ASCII without spaces (CLIENT SETNAME refuses others)")
        }
    }
}
