import Glibc

/// When a failed request is tried again. Pure decisions, so each rule is tested alone.
///
/// - Connect failures and sends that failed outright ran nothing: retried with backoff.
/// - A peer that accepted the TCP connection and then stayed silent through the handshake (TLS or
///   `HELLO` timed out) is not tried again: it is up and not answering (frozen, overloaded, or
///   not Redis at all), and a second connection would wait out the same timeout, doubling the
///   stall. A TCP connect timeout (no answer to the SYN, a packet may be lost) is retried once.
/// - The server refusing the credentials (`WRONGPASS`, `NOAUTH`) while opening a connection:
///   the credentials are read again (at most once per `CredentialRefreshPolicy.minimumInterval`)
///   and the request is retried once with them.
/// - `LOADING`, `BUSY`, `TRYAGAIN`, `MASTERDOWN`, `NOREPLICAS` and "max number of clients" mean
///   the server did not run the command: retried with jittered backoff.
/// - `READONLY` means the connection reached a primary demoted by a failover: the pool drops its
///   idle connections and the request is retried once on a new one (DNS then names the new
///   primary).
/// - A lost reply (timeout, connection dropped after the send) is retried only for idempotent
///   requests, and a timeout at most once: each costs a whole timeout.
/// - Never past the caller's deadline, never more than `maximumAttempts` in all; authentication,
///   TLS, protocol and other server errors are final.
struct RetryPolicy: Sendable {
    static let maximumAttempts = 5
    static let firstBackoff = Duration.milliseconds(10)
    static let longestBackoff = Duration.seconds(1)

    enum Stage {
        /// Resolving, TCP connect, or waiting for a pool slot.
        case connecting
        /// The peer accepted the TCP connection; TLS or the Redis handshake failed.
        case handshaking
        case sending
        case awaitingReply
        case replied
    }

    enum Decision: Equatable {
        case fail
        case retryAfterBackoff
        /// Drop every idle connection first (`READONLY`).
        case reconnectAndRetry
        /// Read the credentials again, then retry if they changed (`WRONGPASS`, `NOAUTH`).
        case refreshCredentialsAndRetry
    }

    /// What happened so far in one call.
    struct History {
        var attempts = 0
        var timeoutRetried = false
        var readOnlyRetried = false
        var credentialsRefreshed = false
    }

    /// `credentialsRejected`: the handshake met `WRONGPASS` or `NOAUTH` and a credentials
    /// provider exists.
    static func decision(
        after error: RedisError, at stage: Stage, idempotent: Bool, history: History, credentialsRejected: Bool = false
    ) -> Decision {
        guard history.attempts < maximumAttempts else { return .fail }
        if credentialsRejected { return history.credentialsRefreshed ? .fail : .refreshCredentialsAndRetry }
        switch (error.kind, stage) {
        case (.deadlineExceeded, _), (.protocolError, _), (.tls, _), (.authentication, _),
            (.configuration, _), (.clusterRedirect, _), (.poolExhausted, _):
            return .fail
        case (.timeout, .handshaking):
            return .fail
        case (.timeout, _):
            let replyMayBeLost = stage != .connecting
            return (!replyMayBeLost || idempotent) && !history.timeoutRetried ? .retryAfterBackoff : .fail
        case (.connectFailed, _), (.connectionClosed, .connecting), (.connectionClosed, .handshaking), (.connectionClosed, .sending):
            return .retryAfterBackoff
        case (.connectionClosed, _):
            return idempotent ? .retryAfterBackoff : .fail
        case (.server(let code), _):
            if code == "READONLY" { return history.readOnlyRetried ? .fail : .reconnectAndRetry }
            return isNotRunReply(error) ? .retryAfterBackoff : .fail
        }
    }

    /// Error replies that say the server refused to run the command for a passing reason.
    static func isNotRunReply(_ error: RedisError) -> Bool {
        switch error.kind {
        case .server(code: "LOADING"), .server(code: "BUSY"), .server(code: "TRYAGAIN"), .server(code: "MASTERDOWN"),
            .server(code: "NOREPLICAS"):
            return true
        case .server(code: "ERR"):
            return error.message.contains("max number of clients reached")
        default:
            return false
        }
    }

    /// How a retry of `error` at `stage` is counted and reported.
    static func reason(for error: RedisError, at stage: Stage, credentialsRejected: Bool = false) -> RedisRetryReason {
        if credentialsRejected { return .credentialsRejected }
        switch error.kind {
        case .timeout: return stage == .connecting ? .connectTimeout : .replyTimeout
        case .server(code: "READONLY"): return .readOnly
        case .server: return .serverBusy
        case .connectionClosed where stage == .sending || stage == .awaitingReply: return .connectionLost
        default: return .connectFailed
        }
    }

    /// Full jitter between half and all of 10 ms x 4^(n-1), capped at 1 s: 10, 40, 160, 640 ms.
    /// Jitter keeps many Lambda environments that failed together from retrying in lockstep.
    static func backoff(beforeRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 8)
        let ceiling = min(firstBackoff * (1 << (2 * exponent)), longestBackoff)
        return ceiling * Double.random(in: 0.5...1.0)
    }

    /// Sleeps the backoff unless doing so would pass the caller's deadline.
    static func sleep(beforeRetry retry: Int, callerDeadline: ContinuousClock.Instant?) -> Bool {
        let delay = backoff(beforeRetry: retry)
        if let callerDeadline, ContinuousClock.now.advanced(by: delay) >= callerDeadline { return false }
        let (seconds, attoseconds) = delay.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
        return true
    }
}
