/// A client of one Redis node: a pool of connections behind blocking, thread-safe calls. A
/// function keeps one per process through `RedisDeploymentClient.shared`, which builds this
/// client (or a cluster of them) on first use.
///
/// Every call takes an optional `deadline`, the caller's budget (in a Lambda handler: now plus
/// the invocation's remaining time minus a margin). The `REDIS_TIMEOUT_MS` ceilings apply to
/// each connect and each command on top of it; retries (see `RetryPolicy`) never pass it.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let pool: ConnectionPool
    let reporter: ClientReporter
    /// Asked for fresh credentials when the server refuses the current ones (a rotation).
    let credentialsProvider: (any RedisCredentialsProvider)?
    let credentials: CredentialStore

    /// Validates the configuration and builds the TLS context (reading the CA bundle). Opens no
    /// connection: the first command does. New connections authenticate with the configuration's
    /// user and token until the server refuses them; then `credentialsProvider` (if any) is asked
    /// for fresh ones. `observer` hears of every retry and recovery.
    public convenience init(
        configuration: RedisConfiguration,
        credentialsProvider: (any RedisCredentialsProvider)? = nil,
        observer: (any RedisClientObserver)? = nil
    ) throws(RedisError) {
        try Self.validate(configuration)
        let tlsContext = configuration.useTLS ? try TLSContext(caFile: configuration.tlsCAFile) : nil
        self.init(
            validated: configuration, tlsContext: tlsContext, credentialsProvider: credentialsProvider,
            reporter: ClientReporter(observer: observer), credentials: nil
        )
    }

    private init(
        validated configuration: RedisConfiguration, tlsContext: TLSContext?, credentialsProvider: (any RedisCredentialsProvider)?,
        reporter: ClientReporter, credentials: CredentialStore?
    ) {
        self.configuration = configuration
        self.credentialsProvider = credentialsProvider
        self.reporter = reporter
        self.credentials = credentials ?? CredentialStore(RedisCredentials(username: configuration.username, password: configuration.authToken))
        self.pool = ConnectionPool(configuration: configuration, tlsContext: tlsContext, reporter: reporter, credentials: self.credentials)
    }

    /// What the client did since it was created: retries by reason, reconnects, stale
    /// connections discarded on borrow, `READONLY` recoveries, credential refreshes.
    public var statistics: RedisClientStatistics {
        reporter.statistics
    }

    /// One node of a cluster: the TLS context (the CA bundle read once) is shared by every node.
    /// `family`: the seed whose observer, counters, credentials and credentials provider this
    /// node shares (one rotation, one re-read for the whole deployment); without one, its own.
    convenience init(
        configuration: RedisConfiguration, sharedTLSContext: TLSContext?, family: RedisClient? = nil,
        credentialsProvider: (any RedisCredentialsProvider)? = nil, observer: (any RedisClientObserver)? = nil
    ) throws(RedisError) {
        try Self.validate(configuration)
        self.init(
            validated: configuration, tlsContext: sharedTLSContext,
            credentialsProvider: family?.credentialsProvider ?? credentialsProvider,
            reporter: family?.reporter ?? ClientReporter(observer: observer), credentials: family?.credentials
        )
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
    ///
    /// A script that writes through `redis.pcall` answers a node's refusal (`READONLY` after a
    /// failover, `LOADING`...) inside its reply, write by write; for an idempotent script such a
    /// reply goes through the same recovery as the error itself (see `NodeRefusal`), and only
    /// the last attempt's reply comes back.
    @discardableResult
    public func run(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]], deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> RESPValue {
        let result = try pipelineResults(
            [ScriptCall.evalsha(script, keys: keys, arguments: arguments)], idempotent: script.isIdempotent, script: script, deadline: deadline)[0]
        guard case .failure(let error) = result, error.kind == .server(code: "NOSCRIPT") else { return try result.get() }
        return try pipelineResults(
            [ScriptCall.eval(script, keys: keys, arguments: arguments)], idempotent: script.isIdempotent, script: script, deadline: deadline)[0].get()
    }

    /// `run` for several calls pipelined in one write; only the calls that met `NOSCRIPT` are
    /// sent again, with `EVAL`, in a second write.
    public func runPipelined(
        _ script: RedisScript,
        calls: [(keys: [[UInt8]], arguments: [[UInt8]])],
        deadline: ContinuousClock.Instant? = nil
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let evalshas = calls.map { ScriptCall.evalsha(script, keys: $0.keys, arguments: $0.arguments) }
        let results = try pipelineResults(evalshas, idempotent: script.isIdempotent, script: script, deadline: deadline)
        return try loadingMissingScript(script, results: results, calls: calls, deadline: deadline)
    }

    /// `runPipelined` for calls made while the first ones already run: each call's `EVALSHA` is
    /// written as soon as `calls` makes it, and the replies are read after the last one (one
    /// round trip's wait, at the end). Retries and `NOSCRIPT` as `runPipelined`; a retry sends
    /// the calls made so far again and goes on with the rest. No connection is borrowed before
    /// the first call is made, and none when `calls` makes none.
    public func runStreamed(
        _ script: RedisScript,
        calls: ScriptCallStream,
        deadline: ContinuousClock.Instant? = nil
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        guard calls.call(at: 0) != nil else { return [] }
        let results = try perform(
            idempotent: script.isIdempotent, deadline: deadline,
            interpret: Self.pipelineInterpretation(idempotent: script.isIdempotent, script: script)
        ) { connection, exchangeDeadline throws(RedisConnection.ExchangeFailure) in
            try connection.exchange(
                streaming: { index in calls.call(at: index).map { ScriptCall.evalsha(script, keys: $0.keys, arguments: $0.arguments) } },
                deadline: exchangeDeadline
            )
        }
        return try loadingMissingScript(script, results: results, calls: calls.made, deadline: deadline)
    }

    /// `results` with the calls that met `NOSCRIPT` sent again as `EVAL` (which caches the script).
    private func loadingMissingScript(
        _ script: RedisScript, results: [Result<RESPValue, RedisError>], calls: [(keys: [[UInt8]], arguments: [[UInt8]])], deadline: ContinuousClock.Instant?
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let missing = results.indices.filter {
            if case .failure(let error) = results[$0] { return error.kind == .server(code: "NOSCRIPT") }
            return false
        }
        guard !missing.isEmpty else { return results }
        let evals = missing.map { ScriptCall.eval(script, keys: calls[$0].keys, arguments: calls[$0].arguments) }
        let retried = try pipelineResults(evals, idempotent: script.isIdempotent, script: script, deadline: deadline)
        var results = results
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

    /// `script`: the commands run it, so a node's refusal inside a reply counts as one too.
    private func pipelineResults(
        _ commands: [RedisCommand], idempotent: Bool, script: RedisScript? = nil, deadline: ContinuousClock.Instant?
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        return try perform(commands, idempotent: idempotent, deadline: deadline, interpret: Self.pipelineInterpretation(idempotent: idempotent, script: script))
    }

    /// Per-command results; the reason to retry the whole pipeline, if any (`script`: the
    /// commands run it, so a node's refusal inside a reply counts as one too).
    private static func pipelineInterpretation(idempotent: Bool, script: RedisScript?) -> ([RESPValue]) -> Interpretation<[Result<RESPValue, RedisError>]> {
        { replies in
            let results = replies.map(Self.result(of:))
            var reason = Self.pipelineRetryReason(results, idempotent: idempotent)
            if reason == nil, script?.isIdempotent == true {
                reason = results.lazy.compactMap { try? $0.get() }.compactMap(NodeRefusal.reason(in:)).first
            }
            return Interpretation(output: results, retryReason: reason)
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
