/// Error replies that say "this node cannot take writes now", whoever the command was: they are
/// about the node, not about the key or the data. A script that calls Redis through `redis.pcall`
/// answers such an error inside a successful reply, one per write, so the client would otherwise
/// never see it: after a failover the demoted primary answers `READONLY` to every write of every
/// call while the client keeps its connection to it.
///
/// - `READONLY`: the node is a replica now (a failover demoted it). Drop the connection and its
///   idle siblings, resolve the name again, retry once.
/// - `LOADING`, `MASTERDOWN`, `NOREPLICAS`: the node is loading its data set, a replica lost its
///   primary, or too few replicas acknowledge writes. Passing states: retry after a backoff.
/// - Not node-level here: `OOM` (memory does not free itself within a retry's backoff; the write
///   fails alone and the event source retries it later), `WRONGTYPE` and other per-key errors.
public enum NodeRefusal {
    /// The error codes above, as they start an error reply.
    public static let codes: Set<String> = ["READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS"]

    /// Whether `error` means the node cannot take writes now (see the type's notes).
    public static func isNodeLevel(_ error: RedisError) -> Bool {
        guard case .server(let code) = error.kind else { return false }
        return codes.contains(code)
    }

    /// The first node-level error inside a script's array reply, as the reason to run the call
    /// again elsewhere or later; nil when every element is a result or a per-key error.
    public static func reason(in reply: RESPValue) -> RedisError? {
        guard case .array(let elements) = reply else { return nil }
        for element in elements {
            guard case .error(let text) = element else { continue }
            let error = RedisError.fromReply(text)
            if isNodeLevel(error) { return error }
        }
        return nil
    }
}
