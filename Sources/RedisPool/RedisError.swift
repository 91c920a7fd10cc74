/// Every failure of the client, as a small closed set of kinds.
///
/// `message` is written for a log line: it names the endpoint, the command or the variable at
/// fault and never contains an AUTH token or a command's arguments.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable, Hashable {
        /// An environment variable or configuration value is invalid.
        case configuration
        /// DNS, TCP connect, or the server closing the connection during the handshake.
        case connectFailed
        /// TLS handshake or certificate verification failed.
        case tls
        /// The server refused the credentials (`WRONGPASS`, `NOAUTH`, `NOPERM` at handshake).
        case authentication
        /// The connect or command timeout (`REDIS_TIMEOUT_MS`) passed.
        case timeout
        /// The caller's deadline (the invocation's remaining time) passed first.
        case deadlineExceeded
        /// The server sent bytes that are not RESP, or a reply of an unexpected shape.
        case protocolError
        /// The server closed the connection (or it was reset) while a reply was awaited.
        case connectionClosed
        /// Every pooled connection stayed busy for the whole wait.
        case poolExhausted
        /// `MOVED` / `ASK`: the key lives on another cluster node. The message starts with the
        /// reply as sent (`MOVED 3999 10.0.0.2:6379`); `ClusterClient` follows it, a standalone
        /// `RedisClient` reports it.
        case clusterRedirect
        /// An error reply; `code` is its first word (`ERR`, `WRONGTYPE`, `READONLY`, ...).
        case server(code: String)
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String {
        switch kind {
        case .server(let code) where message.hasPrefix(code): "Redis error: \(message)"
        case .server(let code): "Redis error \(code): \(message)"
        default: "Redis \(kind): \(message)"
        }
    }

    /// An error reply as the server sent it (`-WRONGTYPE Operation against ...`), also when it
    /// comes inside an array (a script's per-item results).
    public static func fromReply(_ text: String) -> RedisError {
        let code = String(text.prefix { $0 != " " })
        switch code {
        case "MOVED", "ASK":
            return RedisError(
                .clusterRedirect,
                "\(text) (the endpoint is a cluster, cluster mode enabled: set REDIS_CLUSTER_MODE to auto or enabled and give its configuration endpoint)"
            )
        default:
            return RedisError(.server(code: code), text)
        }
    }
}
