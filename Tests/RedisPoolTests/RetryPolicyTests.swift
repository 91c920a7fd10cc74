@testable import RedisPool
import Testing

@Suite struct RetryPolicyTests {
    private func decide(
        _ kind: RedisError.Kind,
        _ message: String = "",
        at stage: RetryPolicy.Stage,
        idempotent: Bool = false,
        history: RetryPolicy.History = RetryPolicy.History(attempts: 1)
    ) -> RetryPolicy.Decision {
        RetryPolicy.decision(after: RedisError(kind, message), at: stage, idempotent: idempotent, history: history)
    }

    @Test func connectFailuresAndFailedSendsAreRetried() {
        #expect(decide(.connectFailed, at: .connecting) == .retryAfterBackoff)
        #expect(decide(.timeout, at: .connecting) == .retryAfterBackoff)
        #expect(decide(.connectionClosed, at: .sending) == .retryAfterBackoff)
    }

    @Test func lostRepliesAreRetriedOnlyForIdempotentRequests() {
        #expect(decide(.connectionClosed, at: .awaitingReply) == .fail)
        #expect(decide(.connectionClosed, at: .awaitingReply, idempotent: true) == .retryAfterBackoff)
        #expect(decide(.timeout, at: .awaitingReply) == .fail)
        #expect(decide(.timeout, at: .awaitingReply, idempotent: true) == .retryAfterBackoff)
        #expect(decide(.timeout, at: .sending) == .fail)
    }

    @Test func aSilentPeerIsNotTriedAgainButALostSYNIs() {
        #expect(decide(.timeout, at: .handshaking, idempotent: true) == .fail)
        #expect(decide(.timeout, at: .connecting, idempotent: true) == .retryAfterBackoff)
        #expect(decide(.connectionClosed, at: .handshaking) == .retryAfterBackoff)
    }

    @Test func rejectedCredentialsAreReadAgainOnce() {
        let error = RedisError(.authentication, "WRONGPASS")
        #expect(
            RetryPolicy.decision(after: error, at: .handshaking, idempotent: false, history: .init(attempts: 1), credentialsRejected: true)
                == .refreshCredentialsAndRetry)
        #expect(
            RetryPolicy.decision(
                after: error, at: .handshaking, idempotent: false, history: .init(attempts: 2, credentialsRefreshed: true), credentialsRejected: true) == .fail)
        #expect(RetryPolicy.decision(after: error, at: .handshaking, idempotent: false, history: .init(attempts: 1)) == .fail)
    }

    @Test func aTimeoutIsRetriedOnce() {
        let history = RetryPolicy.History(attempts: 2, timeoutRetried: true)
        #expect(decide(.timeout, at: .awaitingReply, idempotent: true, history: history) == .fail)
        #expect(decide(.timeout, at: .connecting, history: history) == .fail)
    }

    @Test(arguments: ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "NOREPLICAS"])
    func transientServerStatesAreRetriedWithBackoff(_ code: String) {
        #expect(decide(.server(code: code), "\(code) wait", at: .replied) == .retryAfterBackoff)
    }

    @Test func maxClientsIsRetriedButOtherERRsAreNot() {
        #expect(decide(.server(code: "ERR"), "ERR max number of clients reached", at: .replied) == .retryAfterBackoff)
        #expect(decide(.server(code: "ERR"), "ERR syntax error", at: .replied) == .fail)
    }

    @Test func readOnlyReconnectsOnce() {
        #expect(decide(.server(code: "READONLY"), at: .replied) == .reconnectAndRetry)
        let history = RetryPolicy.History(attempts: 2, readOnlyRetried: true)
        #expect(decide(.server(code: "READONLY"), at: .replied, history: history) == .fail)
    }

    @Test(arguments: [
        RedisError.Kind.authentication, .tls, .protocolError, .deadlineExceeded, .clusterRedirect,
        .poolExhausted, .configuration, .server(code: "WRONGTYPE"), .server(code: "NOSCRIPT"),
        .server(code: "NOAUTH"), .server(code: "WRONGPASS"), .server(code: "NOPERM"), .server(code: "OOM"),
    ])
    func finalErrorsAreNotRetried(_ kind: RedisError.Kind) {
        #expect(decide(kind, at: .replied, idempotent: true) == .fail)
        #expect(decide(kind, at: .connecting, idempotent: true) == .fail)
    }

    @Test func attemptsAreBounded() {
        let history = RetryPolicy.History(attempts: RetryPolicy.maximumAttempts)
        #expect(decide(.connectFailed, at: .connecting, history: history) == .fail)
    }

    @Test func backoffGrowsWithJitterAndIsCapped() {
        for _ in 0..<100 {
            let first = RetryPolicy.backoff(beforeRetry: 1)
            #expect(first >= .milliseconds(5) && first <= .milliseconds(10))
            let third = RetryPolicy.backoff(beforeRetry: 3)
            #expect(third >= .milliseconds(80) && third <= .milliseconds(160))
            #expect(RetryPolicy.backoff(beforeRetry: 9) <= .seconds(1))
        }
    }

    @Test func noSleepPastTheCallersDeadline() {
        #expect(!RetryPolicy.sleep(beforeRetry: 4, callerDeadline: .now.advanced(by: .milliseconds(50))))
    }
}
