/// `REDIS_CLUSTER_MODE`: whether the endpoint is a Redis Cluster (ElastiCache cluster mode
/// enabled, reached through its configuration endpoint) or a single primary.
public enum ClusterMode: String, Sendable, CaseIterable {
    /// Decided at the first connection from the server's answer to `CLUSTER SHARDS`.
    case auto
    case enabled
    case disabled
}

/// What the first answer to `CLUSTER SHARDS` (then `CLUSTER SLOTS` on a server that predates
/// it) says of the endpoint. Pure: the wire is tested elsewhere.
enum ClusterModeProbe {
    enum Verdict: Equatable {
        case cluster(SlotTable)
        case standalone
        /// Redis before 7 has no `CLUSTER SHARDS`: ask `CLUSTER SLOTS`.
        case askSlots
    }

    static func afterShards(_ reply: Result<RESPValue, RedisError>, mode: ClusterMode, seedHost: String, useTLS: Bool) throws(RedisError) -> Verdict {
        switch reply {
        case .success(let value):
            return .cluster(try ClusterTopology.fromShards(value, seedHost: seedHost, useTLS: useTLS))
        case .failure(let error):
            if isUnknownSubcommand(error) { return .askSlots }
            return try refusal(error, mode: mode)
        }
    }

    static func afterSlots(_ reply: Result<RESPValue, RedisError>, mode: ClusterMode, seedHost: String) throws(RedisError) -> Verdict {
        switch reply {
        case .success(let value): return .cluster(try ClusterTopology.fromSlots(value, seedHost: seedHost))
        case .failure(let error): return try refusal(error, mode: mode)
        }
    }

    /// A server with cluster support disabled says so; in `auto` mode that (or a user not
    /// allowed to ask, `NOPERM`) means a single primary. In `enabled` mode it is a configuration
    /// error worth stopping for.
    private static func refusal(_ error: RedisError, mode: ClusterMode) throws(RedisError) -> Verdict {
        let clusterDisabled = error.message.lowercased().contains("cluster support disabled")
        if mode == .auto && (clusterDisabled || error.kind == .server(code: "NOPERM")) { return .standalone }
        if clusterDisabled {
            throw RedisError(.configuration, "REDIS_CLUSTER_MODE is enabled but the endpoint is not a cluster (\(error.message)); use auto or disabled")
        }
        if error.kind == .server(code: "NOPERM") {
            throw RedisError(.authentication, "the user may not read the cluster's topology (\(error.message)); grant +cluster|shards and +cluster|slots")
        }
        throw error
    }

    private static func isUnknownSubcommand(_ error: RedisError) -> Bool {
        let text = error.message.lowercased()
        return error.kind == .server(code: "ERR") && (text.contains("unknown subcommand") || text.contains("unknown command"))
    }
}
