import Dispatch
import Synchronization

/// A Redis Cluster client (ElastiCache cluster mode enabled): one `RedisClient` (its pool, its
/// retries, TLS and AUTH as configured) per node, and a slot table saying which primary serves
/// which key.
///
/// - Each request goes to the primary of its key's slot; a pipeline is cut into one pipeline per
///   node (`ClusterRouting`), and the nodes are written at the same time (`onEveryNode`).
/// - `MOVED`: the slot is patched in the table at once, the request resent to the named node,
///   and the whole table read again, at most once per `minimumRefreshInterval` (a resharding
///   answers `MOVED` to many requests; one topology read serves them all).
/// - `ASK`: `ASKING` then the request on the named node, once; the table stays as it is.
/// - `TRYAGAIN`, `CLUSTERDOWN`, a slot no primary serves: backoff and retry, within the deadline.
/// - A node that cannot be used (connect failure, timeout, garbage): the table is read again from
///   another node; requests whose slot moved to another primary (a failover promoted a replica)
///   are resent when that cannot run them twice, the others fail with that node's error.
/// - Only when no node answered at all is the error thrown; otherwise results are per request,
///   so one unreachable shard fails its own keys and the other shards' writes stand.
public final class ClusterClient: RedisCommandRunner {
    public let configuration: RedisConfiguration
    private let tlsContext: TLSContext?
    /// The configuration endpoint: asked for the topology first, and last when no known node answers.
    private let seed: RedisClient
    private let state: Mutex<State>

    static let minimumRefreshInterval = Duration.milliseconds(250)
    /// Redirections (`MOVED`, `ASK`) followed for one request before giving up.
    static let maximumRedirections = 5
    /// Rounds of backoff after `TRYAGAIN`/`CLUSTERDOWN` or a lost node (10 ms doubling twice per round, capped at 1 s).
    static let maximumBackoffRounds = 6

    struct State {
        var table: SlotTable?
        var nodes: [NodeAddress: RedisClient] = [:]
        var lastRefresh: ContinuousClock.Instant?
    }

    /// Validates the configuration and reads the CA bundle once for every node. Connects nowhere:
    /// the first request reads the topology.
    public convenience init(configuration: RedisConfiguration) throws(RedisError) {
        let tlsContext = configuration.useTLS ? try TLSContext(caFile: configuration.tlsCAFile) : nil
        let seed = try RedisClient(configuration: configuration, sharedTLSContext: tlsContext)
        self.init(seed: seed, tlsContext: tlsContext, table: nil)
    }

    /// Over a client of the configuration endpoint that already exists (it answered the mode
    /// probe), with the table that probe read.
    init(seed: RedisClient, tlsContext: TLSContext?, table: SlotTable?) {
        self.configuration = seed.configuration
        self.tlsContext = tlsContext
        self.seed = seed
        self.state = Mutex(State(table: table, lastRefresh: table == nil ? nil : .now))
    }

    /// The table in use now (nil before the first request).
    public var slotTable: SlotTable? {
        state.withLock { $0.table }
    }

    public func routesBySlot(deadline: ContinuousClock.Instant?) throws(RedisError) -> Bool {
        true
    }

    public func routingTable(deadline: ContinuousClock.Instant?) throws(RedisError) -> SlotTable? {
        try tableForRouting(deadline: deadline)
    }

    public func command(_ command: RedisCommand, deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> RESPValue {
        try pipeline([command], deadline: deadline)[0].get()
    }

    public func pipeline(_ commands: [RedisCommand], deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try route(
            slots: commands.map(CommandRouting.slot(of:)),
            mayResend: commands.allSatisfy(\.isIdempotent),
            deadline: deadline
        ) { node, indices, asking throws(RedisError) in
            let selected = indices.map { commands[$0] }
            return asking ? try Self.asking(selected, on: node, deadline: deadline) : try node.pipeline(selected, deadline: deadline)
        }
    }

    public func runPipelined(
        _ script: RedisScript,
        calls: [(keys: [[UInt8]], arguments: [[UInt8]])],
        deadline: ContinuousClock.Instant? = nil
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try route(
            slots: calls.map { $0.keys.first.map(KeySlot.of) },
            mayResend: script.isIdempotent,
            deadline: deadline
        ) { node, indices, asking throws(RedisError) in
            guard asking else { return try node.runPipelined(script, calls: indices.map { calls[$0] }, deadline: deadline) }
            // The importing node may not have the script cached; after ASK, send the source.
            let evals = indices.map { ScriptCall.eval(script, keys: calls[$0].keys, arguments: calls[$0].arguments) }
            return try Self.asking(evals, on: node, deadline: deadline)
        }
    }

    /// Reads the topology again now (tests, and callers that know it changed).
    public func refreshTopology(deadline: ContinuousClock.Instant? = nil) throws(RedisError) {
        try refresh(avoiding: [], force: true, deadline: deadline)
    }

    // MARK: - Routing

    private typealias Send = (RedisClient, [Int], _ asking: Bool) throws(RedisError) -> [Result<RESPValue, RedisError>]

    private func route(
        slots: [Int?],
        mayResend: Bool,
        deadline: ContinuousClock.Instant?,
        send: Send
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        guard !slots.isEmpty else { return [] }
        var routing = ClusterRouting(slots: slots)
        var anyReply = false
        var firstFailure: RedisError?
        var backoffRounds = 0
        while let table = try tableForRouting(deadline: deadline), let plan = routing.nextRound(table: table) {
            var failedNodes: Set<NodeAddress> = []
            let clients = plan.groups.map { group in Result { () throws(RedisError) in try nodeClient(group.node) } }
            let outcomes = Self.onEveryNode(plan.groups.count) { position throws(RedisError) in
                let group = plan.groups[position]
                return try send(try clients[position].get(), group.indices, group.asking)
            }
            for (group, outcome) in zip(plan.groups, outcomes) {
                do {
                    let replies = try outcome.get()
                    anyReply = true
                    routing.record(replies, for: group)
                } catch {
                    firstFailure = firstFailure ?? error
                    failedNodes.insert(group.node)
                    routing.recordUnreachable(group, error: error, mayResend: mayResend || error.kind == .connectFailed)
                }
            }
            for (slot, node) in routing.takeMoves() {
                state.withLock { $0.table = $0.table?.moving(slot: slot, to: node) }
            }
            if routing.wantsRefresh {
                // A refresh that fails leaves the table as it was: the retry decides what follows.
                try? refresh(avoiding: failedNodes, force: false, deadline: deadline)
            }
            if let refreshed = state.withLock({ $0.table }) {
                routing.resendUnreachable(to: refreshed)
            }
            guard routing.hasPending else { break }
            if routing.wantsBackoff {
                backoffRounds += 1
                guard backoffRounds <= Self.maximumBackoffRounds,
                    RetryPolicy.sleep(beforeRetry: backoffRounds, callerDeadline: deadline)
                else { break }
            }
            if let deadline, ContinuousClock.now >= deadline { break }
        }
        if !anyReply, let firstFailure { throw firstFailure }
        return routing.results()
    }

    /// Runs each node's exchange at the same time, on Dispatch's worker threads (the caller's
    /// thread takes one): the nodes' round trips and work overlap instead of adding up. Measured
    /// with a network hop in front of each node, three shards: 8 % less per batch than one node
    /// after another; equal on bare loopback (BENCHMARKS.md). One node: no thread at all.
    private static func onEveryNode(
        _ count: Int,
        _ exchange: (Int) throws(RedisError) -> [Result<RESPValue, RedisError>]
    ) -> [Result<[Result<RESPValue, RedisError>], RedisError>] {
        guard count > 1 else { return (0..<count).map { position in Result { () throws(RedisError) in try exchange(position) } } }
        // A class-held lock (the pool's): shared by the worker threads without a noncopyable capture.
        let outcomes = ConditionLock([Result<[Result<RESPValue, RedisError>], RedisError>?](repeating: nil, count: count))
        withoutActuallyEscaping(exchange) { exchange in
            let shared = SharedExchange(exchange)
            DispatchQueue.concurrentPerform(iterations: count) { position in
                let outcome = Result { () throws(RedisError) in try shared.exchange(position) }
                outcomes.withLock { values, _ in values[position] = outcome }
            }
        }
        return outcomes.withLock { values, _ in values }.map { $0 ?? .failure(RedisError(.protocolError, "a node's exchange did not run")) }
    }

    /// `@unchecked Sendable`: each call of the exchange only reads the request list it captured
    /// (never written while the nodes run) and uses its own node's `RedisClient`, which is
    /// thread-safe; `concurrentPerform` returns only when every call has.
    private final class SharedExchange: @unchecked Sendable {
        let exchange: (Int) throws(RedisError) -> [Result<RESPValue, RedisError>]

        init(_ exchange: @escaping (Int) throws(RedisError) -> [Result<RESPValue, RedisError>]) {
            self.exchange = exchange
        }
    }

    /// `ASKING` before each request, pipelined; each request's own reply is kept.
    private static func asking(
        _ commands: [RedisCommand],
        on node: RedisClient,
        deadline: ContinuousClock.Instant?
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let interleaved = commands.flatMap { [RedisCommand("ASKING"), $0] }
        let replies = try node.pipeline(interleaved, deadline: deadline)
        return stride(from: 0, to: replies.count, by: 2).map { index in
            if case .failure = replies[index] { return replies[index] }
            return replies[index + 1]
        }
    }

    // MARK: - Topology

    private func tableForRouting(deadline: ContinuousClock.Instant?) throws(RedisError) -> SlotTable? {
        if let table = state.withLock({ $0.table }) { return table }
        try refresh(avoiding: [], force: true, deadline: deadline)
        return state.withLock { $0.table }
    }

    /// Reads `CLUSTER SHARDS` (`CLUSTER SLOTS` on servers before 7) from the first node that
    /// answers: known primaries, then replicas, then the configuration endpoint, skipping the
    /// nodes that just failed. Each is given at most a second, so a dead node costs little.
    private func refresh(avoiding failed: Set<NodeAddress>, force: Bool, deadline: ContinuousClock.Instant?) throws(RedisError) {
        let now = ContinuousClock.now
        let (current, due) = state.withLock { state -> (SlotTable?, Bool) in
            let due = force || state.lastRefresh.map { now - $0 >= Self.minimumRefreshInterval } ?? true
            if due { state.lastRefresh = now }
            return (state.table, due)
        }
        guard due else { return }
        let known = (current?.primaries ?? []) + (current?.replicas ?? [])
        var candidates: [(client: RedisClient, host: String)] = known.filter { !failed.contains($0) }.compactMap { node in
            (try? nodeClient(node)).map { ($0, node.host) }
        }
        candidates.append((seed, configuration.endpoint))
        var lastError = RedisError(.connectFailed, "no cluster node to ask for the topology")
        for candidate in candidates {
            let budget = Deadline.earliest(ceiling: min(configuration.timeout, .seconds(1)), caller: deadline).instant
            do {
                let table = try topology(from: candidate.client, seedHost: candidate.host, deadline: budget)
                install(table)
                return
            } catch {
                lastError = error
                if let deadline, ContinuousClock.now >= deadline { break }
            }
        }
        throw lastError
    }

    private func topology(from client: RedisClient, seedHost: String, deadline: ContinuousClock.Instant) throws(RedisError) -> SlotTable {
        let shards = try Self.reply(client, RedisCommand("CLUSTER", "SHARDS"), deadline: deadline)
        var verdict = try ClusterModeProbe.afterShards(shards, mode: .enabled, seedHost: seedHost, useTLS: configuration.useTLS)
        if verdict == .askSlots {
            let slots = try Self.reply(client, RedisCommand("CLUSTER", "SLOTS"), deadline: deadline)
            verdict = try ClusterModeProbe.afterSlots(slots, mode: .enabled, seedHost: seedHost)
        }
        guard case .cluster(let table) = verdict, !table.primaries.isEmpty else {
            throw RedisError(.server(code: "CLUSTERDOWN"), "CLUSTERDOWN the topology names no reachable primary")
        }
        return table
    }

    /// A command's reply or error reply as a value; a failure to get any reply is thrown.
    static func reply(_ client: RedisClient, _ command: RedisCommand, deadline: ContinuousClock.Instant?) throws(RedisError) -> Result<RESPValue, RedisError> {
        do {
            return .success(try client.command(command, deadline: deadline))
        } catch {
            if case .server = error.kind { return .failure(error) }
            throw error
        }
    }

    /// The new table; clients of nodes no longer in the cluster are let go (their idle
    /// connections close when the last request using them ends).
    private func install(_ table: SlotTable) {
        state.withLock { state in
            state.table = table
            let members = Set(table.primaries + table.replicas)
            state.nodes = state.nodes.filter { members.contains($0.key) }
        }
    }

    /// The client of one node, made on first use: the configuration's TLS, AUTH, timeouts and
    /// pool limit (per node), with the node's address and the TLS name `NodeTLSName` picks.
    private func nodeClient(_ address: NodeAddress) throws(RedisError) -> RedisClient {
        if let client = state.withLock({ $0.nodes[address] }) { return client }
        var node = configuration
        node.endpoint = address.host
        node.port = address.port
        if configuration.useTLS {
            node.tlsServerName = NodeTLSName.serverName(
                explicit: configuration.tlsServerName, configurationEndpoint: configuration.endpoint, nodeHost: address.host
            )
        }
        // Validated like the seed: an address the cluster announced could still be unusable.
        let client = try RedisClient(configuration: node, sharedTLSContext: tlsContext, family: seed)
        return state.withLock { state in
            if let existing = state.nodes[address] { return existing }
            state.nodes[address] = client
            return client
        }
    }
}
