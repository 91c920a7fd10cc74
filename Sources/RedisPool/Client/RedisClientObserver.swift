/// Why the client tried a request again (the `RedisRetries` metric's breakdown).
public enum RedisRetryReason: String, Sendable, CaseIterable, Hashable {
    /// DNS, TCP connect refused or unreachable, or the server closed a connection being opened.
    case connectFailed = "connect_failed"
    /// The TCP connect got no answer within the timeout.
    case connectTimeout = "connect_timeout"
    /// The connection closed or reset around a send or while a reply was awaited.
    case connectionLost = "connection_lost"
    /// A reply did not come within the timeout.
    case replyTimeout = "reply_timeout"
    /// `LOADING`, `BUSY`, `TRYAGAIN`, `MASTERDOWN`, `NOREPLICAS`, "max number of clients".
    case serverBusy = "server_busy"
    /// `READONLY`: the connection reached a primary a failover demoted.
    case readOnly = "readonly"
    /// The server refused the credentials; they were read again.
    case credentialsRejected = "credentials_rejected"
}

/// What the client does behind a call that succeeds anyway: retries, reconnects, connections
/// dropped, credentials read again. Every method has an empty default, so an observer implements
/// only what it reports. Called on the caller's thread, outside the pool's lock; an observer must
/// be quick and must not call the client. Nothing passed here holds a password.
///
/// (After valkey-swift's connection-pool observability delegate.)
public protocol RedisClientObserver: Sendable {
    /// Opening a connection failed (resolution, TCP, TLS or handshake).
    func connectFailed(endpoint: String, error: RedisError)
    /// The `PING` that checks a connection idle for long failed; the connection is dropped.
    func keepAliveFailed(endpoint: String)
    /// A connection was closed because it failed while lent (timeout, reset, protocol error).
    func connectionClosed(endpoint: String, error: RedisError)
    /// The request is tried again; `attempt` is the attempt about to start (2 for the first retry).
    func retrying(reason: RedisRetryReason, attempt: Int, after error: RedisError)
    /// A connection was opened to replace one that was dropped.
    func reconnected(endpoint: String)
    /// A pooled connection was found closed or out of step when borrowed, and dropped.
    func staleConnectionDiscarded(endpoint: String)
    /// A write met `READONLY`: the connection and its idle siblings were dropped.
    func readOnlyRecovery(endpoint: String, error: RedisError)
    /// The credentials were read again after the server refused them.
    func credentialsRefreshed(username: String, changed: Bool)
    /// Reading the credentials again failed; the refused request fails with its own error.
    func credentialsRefreshFailed(error: RedisError)
}

extension RedisClientObserver {
    public func connectFailed(endpoint: String, error: RedisError) {}
    public func keepAliveFailed(endpoint: String) {}
    public func connectionClosed(endpoint: String, error: RedisError) {}
    public func retrying(reason: RedisRetryReason, attempt: Int, after error: RedisError) {}
    public func reconnected(endpoint: String) {}
    public func staleConnectionDiscarded(endpoint: String) {}
    public func readOnlyRecovery(endpoint: String, error: RedisError) {}
    public func credentialsRefreshed(username: String, changed: Bool) {}
    public func credentialsRefreshFailed(error: RedisError) {}
}

/// Counts of what the client did since it was created (`RedisClient.statistics`).
public struct RedisClientStatistics: Sendable, Equatable {
    public var retries: [RedisRetryReason: Int] = [:]
    public var reconnects = 0
    public var staleConnectionsDiscarded = 0
    public var readOnlyRecoveries = 0
    public var authRefreshes = 0

    public init() {}

    public var totalRetries: Int { retries.values.reduce(0, +) }
}

/// Counts each event and passes it on to the observer: the one place the client reports from.
final class ClientReporter: Sendable {
    private let observer: (any RedisClientObserver)?
    private let counters = ConditionLock(RedisClientStatistics())

    init(observer: (any RedisClientObserver)?) {
        self.observer = observer
    }

    var statistics: RedisClientStatistics {
        counters.withLock { statistics, _ in statistics }
    }

    func connectFailed(endpoint: String, error: RedisError) {
        observer?.connectFailed(endpoint: endpoint, error: error)
    }

    func keepAliveFailed(endpoint: String) {
        observer?.keepAliveFailed(endpoint: endpoint)
    }

    func connectionClosed(endpoint: String, error: RedisError) {
        observer?.connectionClosed(endpoint: endpoint, error: error)
    }

    func retrying(reason: RedisRetryReason, attempt: Int, after error: RedisError) {
        counters.withLock { statistics, _ in statistics.retries[reason, default: 0] += 1 }
        observer?.retrying(reason: reason, attempt: attempt, after: error)
    }

    func reconnected(endpoint: String) {
        counters.withLock { statistics, _ in statistics.reconnects += 1 }
        observer?.reconnected(endpoint: endpoint)
    }

    func staleConnectionDiscarded(endpoint: String) {
        counters.withLock { statistics, _ in statistics.staleConnectionsDiscarded += 1 }
        observer?.staleConnectionDiscarded(endpoint: endpoint)
    }

    func readOnlyRecovery(endpoint: String, error: RedisError) {
        counters.withLock { statistics, _ in statistics.readOnlyRecoveries += 1 }
        observer?.readOnlyRecovery(endpoint: endpoint, error: error)
    }

    func credentialsRefreshed(username: String, changed: Bool) {
        counters.withLock { statistics, _ in statistics.authRefreshes += 1 }
        observer?.credentialsRefreshed(username: username, changed: changed)
    }

    func credentialsRefreshFailed(error: RedisError) {
        observer?.credentialsRefreshFailed(error: error)
    }
}
