#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LambdaRuntime
import RedisPool

/// Hears what the Redis client did to keep calls going and hands it, per invocation, to the
/// metric line (`RedisRetries`, `RedisReconnects`, `AuthRefreshes`) and to the log: each kind of
/// recovery once per invocation, at warn level, with its reason and how many times it happened.
/// Nothing it records holds a password (`RedisError` messages never do).
public final class RedisRecoveryLog: RedisClientObserver, @unchecked Sendable {
    /// One invocation's recoveries.
    public struct Drained: Sendable, Equatable {
        public var retries = 0
        public var reconnects = 0
        public var authRefreshes = 0
        /// One line per kind of recovery and reason, in the order they first happened.
        public var lines: [String] = []
    }

    private struct Entry {
        var count: Int
        var detail: String
    }

    // A pthread mutex: ThreadSanitizer follows it, unlike Mutex's futex path on Linux.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var counts = Drained()
    private var order: [String] = []
    private var entries: [String: Entry] = [:]

    public init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Everything recorded since the last call, emptied.
    public func drain() -> Drained {
        withLock {
            var drained = counts
            drained.lines = order.compactMap { key in
                guard let entry = entries[key] else { return nil }
                return entry.count > 1 ? "\(key) (\(entry.count) times): \(entry.detail)" : "\(key): \(entry.detail)"
            }
            counts = Drained()
            order = []
            entries = [:]
            return drained
        }
    }

    private func record(_ key: String, _ detail: String, _ count: (inout Drained) -> Void = { _ in }) {
        withLock {
            count(&counts)
            if entries[key] == nil { order.append(key) }
            entries[key, default: Entry(count: 0, detail: detail)].count += 1
            entries[key]?.detail = detail
        }
    }

    public func retrying(reason: RedisRetryReason, attempt: Int, after error: RedisError) {
        record("Redis retry, reason \(reason.rawValue)", error.description) { $0.retries += 1 }
    }

    public func reconnected(endpoint: String) {
        record("Redis reconnected to \(endpoint)", "a new connection replaced one that was dropped") { $0.reconnects += 1 }
    }

    public func staleConnectionDiscarded(endpoint: String) {
        record("Redis stale connection discarded", "a pooled connection to \(endpoint) was closed by the server or out of step")
    }

    public func keepAliveFailed(endpoint: String) {
        record("Redis keep-alive PING failed", "the idle connection to \(endpoint) was dropped")
    }

    public func readOnlyRecovery(endpoint: String, error: RedisError) {
        record(
            "Redis READONLY recovery",
            "\(endpoint) is a replica now (failover); its connections were dropped and the name is resolved again: \(error.description)")
    }

    public func credentialsRefreshed(username: String, changed: Bool) {
        let outcome = changed ? "new credentials for user \(username)" : "the same credentials as before (is the extension's cache older than the rotation?)"
        record("Redis credentials read again from the secret", "the server refused the current ones; the secret gave \(outcome)") { $0.authRefreshes += 1 }
    }

    public func credentialsRefreshFailed(error: RedisError) {
        record("Redis credentials could not be read again", error.description)
    }
}
