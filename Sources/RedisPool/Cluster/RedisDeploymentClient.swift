#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The client the functions use: a `RedisClient` for a single primary (cluster mode disabled) or
/// a `ClusterClient` for a cluster's configuration endpoint, as `REDIS_CLUSTER_MODE` says.
///
/// `auto` (the default) decides at the first request, from the endpoint's answer to
/// `CLUSTER SHARDS` (`ClusterModeProbe`): a topology means a cluster (and becomes its first slot
/// table, no round trip lost); "cluster support disabled", or a user not allowed to ask, means a
/// single primary, which then keeps the connection the question used. A connection failure
/// decides nothing: the next request asks again. `enabled` and `disabled` never ask.
public final class RedisDeploymentClient: RedisCommandRunner {
    public let configuration: RedisConfiguration
    private let tlsContext: TLSContext?
    /// The configured endpoint: the whole of Redis when standalone, the cluster's seed otherwise.
    private let endpoint: RedisClient
    private let decided: Mutex<(any RedisCommandRunner)?>

    /// `credentialsProvider` and `observer`: see `RedisClient.init`; a cluster's nodes share them
    /// (and one set of counters, one re-read of the credentials per rotation).
    public init(
        configuration: RedisConfiguration,
        credentialsProvider: (any RedisCredentialsProvider)? = nil,
        observer: (any RedisClientObserver)? = nil
    ) throws(RedisError) {
        let tlsContext = configuration.useTLS ? try TLSContext(caFile: configuration.tlsCAFile) : nil
        self.configuration = configuration
        self.tlsContext = tlsContext
        endpoint = try RedisClient(
            configuration: configuration, sharedTLSContext: tlsContext, credentialsProvider: credentialsProvider, observer: observer
        )
        switch configuration.clusterMode {
        case .disabled: decided = Mutex(endpoint)
        case .enabled: decided = Mutex(ClusterClient(seed: endpoint, tlsContext: tlsContext, table: nil))
        case .auto: decided = Mutex(nil)
        }
    }

    private static let sharedClient = Mutex<RedisDeploymentClient?>(nil)

    /// Built from `environment` on first use and kept for the life of the process (a warm
    /// Lambda environment keeps its connections and its slot table). A configuration error is
    /// thrown on every call.
    /// `credentialsProvider` and `observer` are those of the first successful call.
    public static func shared(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        credentialsProvider: (any RedisCredentialsProvider)? = nil,
        observer: (any RedisClientObserver)? = nil
    ) throws(RedisError) -> RedisDeploymentClient {
        try shared { () throws(RedisError) in
            try RedisDeploymentClient(
                configuration: RedisConfiguration.fromEnvironment(environment), credentialsProvider: credentialsProvider, observer: observer
            )
        }
    }

    /// `shared(environment:...)` for a configuration the caller built (credentials read from a secret).
    public static func shared(
        configuration: RedisConfiguration,
        credentialsProvider: (any RedisCredentialsProvider)? = nil,
        observer: (any RedisClientObserver)? = nil
    ) throws(RedisError) -> RedisDeploymentClient {
        try shared { () throws(RedisError) in
            try RedisDeploymentClient(configuration: configuration, credentialsProvider: credentialsProvider, observer: observer)
        }
    }

    private static func shared(_ make: () throws(RedisError) -> RedisDeploymentClient) throws(RedisError) -> RedisDeploymentClient {
        try sharedClient.withLock { (client: inout RedisDeploymentClient?) throws(RedisError) -> RedisDeploymentClient in
            if let client { return client }
            let created = try make()
            client = created
            return created
        }
    }

    /// What the client did since it was created (every node's, for a cluster).
    public var statistics: RedisClientStatistics {
        endpoint.statistics
    }

    /// The mode once decided (nil in `auto` mode before the first request got an answer).
    public var isCluster: Bool? {
        decided.withLock { $0.map { $0 is ClusterClient } }
    }

    public func routesBySlot(deadline: ContinuousClock.Instant?) throws(RedisError) -> Bool {
        try runner(deadline: deadline).routesBySlot(deadline: deadline)
    }

    public func routingTable(deadline: ContinuousClock.Instant?) throws(RedisError) -> SlotTable? {
        try runner(deadline: deadline).routingTable(deadline: deadline)
    }

    public func command(_ command: RedisCommand, deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> RESPValue {
        try runner(deadline: deadline).command(command, deadline: deadline)
    }

    public func pipeline(_ commands: [RedisCommand], deadline: ContinuousClock.Instant? = nil) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try runner(deadline: deadline).pipeline(commands, deadline: deadline)
    }

    public func runPipelined(
        _ script: RedisScript,
        calls: [(keys: [[UInt8]], arguments: [[UInt8]])],
        deadline: ContinuousClock.Instant? = nil
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try runner(deadline: deadline).runPipelined(script, calls: calls, deadline: deadline)
    }

    public func runStreamed(
        _ script: RedisScript,
        calls: ScriptCallStream,
        deadline: ContinuousClock.Instant? = nil
    ) throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try runner(deadline: deadline).runStreamed(script, calls: calls, deadline: deadline)
    }

    private func runner(deadline: ContinuousClock.Instant?) throws(RedisError) -> any RedisCommandRunner {
        if let runner = decided.withLock({ $0 }) { return runner }
        let shards = try ClusterClient.reply(endpoint, RedisCommand("CLUSTER", "SHARDS"), deadline: deadline)
        var verdict = try ClusterModeProbe.afterShards(shards, mode: .auto, seedHost: configuration.endpoint, useTLS: configuration.useTLS)
        if verdict == .askSlots {
            let slots = try ClusterClient.reply(endpoint, RedisCommand("CLUSTER", "SLOTS"), deadline: deadline)
            verdict = try ClusterModeProbe.afterSlots(slots, mode: .auto, seedHost: configuration.endpoint)
        }
        let runner: any RedisCommandRunner
        switch verdict {
        case .cluster(let table): runner = ClusterClient(seed: endpoint, tlsContext: tlsContext, table: table)
        case .standalone, .askSlots: runner = endpoint
        }
        return decided.withLock { current in
            if let current { return current }
            current = runner
            return runner
        }
    }
}
