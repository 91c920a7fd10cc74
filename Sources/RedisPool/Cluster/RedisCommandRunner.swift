/// What the cache needs of Redis, whether one primary (`RedisClient`) or a cluster
/// (`ClusterClient`) answers: commands, pipelines and pipelined script calls, with per-command
/// results. `RedisDeploymentClient` picks one of the two from `REDIS_CLUSTER_MODE`.
public protocol RedisCommandRunner: Sendable {
    /// Whether requests are routed by hash slot. Then a script call may only name keys of one
    /// slot (`CROSSSLOT` otherwise), and a batch must be cut by slot. May connect to find out.
    func routesBySlot(deadline: ContinuousClock.Instant?) throws(RedisError) -> Bool

    /// The slot table requests are routed by now (read on first use), nil when not routed by
    /// slot: a caller may group its requests by node with it. It may be out of date by the time
    /// the requests are sent; the cluster's redirections then correct the routing.
    func routingTable(deadline: ContinuousClock.Instant?) throws(RedisError) -> SlotTable?

    /// One command; an error reply is thrown.
    func command(_ command: RedisCommand, deadline: ContinuousClock.Instant?) throws(RedisError) -> RESPValue

    /// The commands' results in order, errors per command. A cluster sends each node its
    /// commands as one pipeline.
    func pipeline(_ commands: [RedisCommand], deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<RESPValue, RedisError>]

    /// `EVALSHA` per call (`EVAL` after `NOSCRIPT`), pipelined; results in order.
    func runPipelined(
        _ script: RedisScript,
        calls: [(keys: [[UInt8]], arguments: [[UInt8]])],
        deadline: ContinuousClock.Instant?
    ) throws(RedisError) -> [Result<RESPValue, RedisError>]

    /// `runPipelined` for calls made while the first ones already run (`ScriptCallStream`), where
    /// the runner can send them as they come (a single primary); the others make every call first.
    func runStreamed(_ script: RedisScript, calls: ScriptCallStream, deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<RESPValue, RedisError>]
}

extension RedisCommandRunner {
    /// Every call made first, then `runPipelined` (a cluster groups the calls by node).
    public func runStreamed(
        _ script: RedisScript,
        calls: ScriptCallStream,
        deadline: ContinuousClock.Instant?
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let all = calls.all()
        guard !all.isEmpty else { return [] }
        return try runPipelined(script, calls: all, deadline: deadline)
    }
}

extension RedisClient: RedisCommandRunner {
    /// One primary holds every key: any keys may share a script call.
    public func routesBySlot(deadline: ContinuousClock.Instant?) throws(RedisError) -> Bool {
        false
    }

    public func routingTable(deadline: ContinuousClock.Instant?) throws(RedisError) -> SlotTable? {
        nil
    }
}
