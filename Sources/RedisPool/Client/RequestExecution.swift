/// What a request's replies mean, and the server error that might justify trying it again
/// (`RetryPolicy` has the last word).
struct Interpretation<Output> {
    let output: Output
    let retryReason: RedisError?
}

extension RedisClient {
    private struct Failure<Output> {
        let error: RedisError
        let stage: RetryPolicy.Stage
        /// What to return if no retry follows (per-command results); nil to throw.
        let output: Output?
        var credentialsRejected = false
        var credentialsGeneration = 0
    }

    private enum AttemptOutcome<Output> {
        case done(Output)
        case failed(Failure<Output>)
    }

    /// Sends `commands` in one write on a pooled connection and interprets the replies, retrying
    /// as `RetryPolicy` decides. Every retry and recovery is reported (`ClientReporter`).
    func perform<Output>(
        _ commands: [RedisCommand],
        idempotent: Bool,
        deadline: ContinuousClock.Instant?,
        interpret: ([RESPValue]) -> Interpretation<Output>
    ) throws(RedisError) -> Output {
        try perform(idempotent: idempotent, deadline: deadline, interpret: interpret) { connection, exchangeDeadline throws(RedisConnection.ExchangeFailure) in
            try connection.exchange(commands, deadline: exchangeDeadline())
        }
    }

    /// `perform` for a request that `exchange` writes on the leased connection its own way (a
    /// streamed one: `RedisConnection.exchange(streaming:deadline:)`); `exchange` gets the
    /// deadline of one step of the exchange, made anew at each call.
    func perform<Output>(
        idempotent: Bool,
        deadline: ContinuousClock.Instant?,
        interpret: ([RESPValue]) -> Interpretation<Output>,
        exchange: (RedisConnection, () -> Deadline) throws(RedisConnection.ExchangeFailure) -> [RESPValue]
    ) throws(RedisError) -> Output {
        var history = RetryPolicy.History()
        while true {
            history.attempts += 1
            let failure: Failure<Output>
            switch attempt(exchange, deadline: deadline, interpret: interpret) {
            case .done(let result): return result
            case .failed(let failed): failure = failed
            }
            let credentialsRejected = failure.credentialsRejected && credentialsProvider != nil
            let decision = RetryPolicy.decision(
                after: failure.error, at: failure.stage, idempotent: idempotent, history: history,
                credentialsRejected: credentialsRejected
            )
            switch decision {
            case .fail:
                if let output = failure.output { return output }
                throw failure.error
            case .refreshCredentialsAndRetry:
                history.credentialsRefreshed = true
                guard let credentialsProvider,
                    pool.refreshCredentials(after: failure.credentialsGeneration, from: credentialsProvider)
                else { throw failure.error }
            case .reconnectAndRetry:
                history.readOnlyRetried = true
                pool.closeIdle()
                reporter.readOnlyRecovery(endpoint: pool.endpointDescription, error: failure.error)
            case .retryAfterBackoff:
                if failure.error.kind == .timeout { history.timeoutRetried = true }
                guard RetryPolicy.sleep(beforeRetry: history.attempts, callerDeadline: deadline) else {
                    if let output = failure.output { return output }
                    throw failure.error
                }
            }
            reporter.retrying(
                reason: RetryPolicy.reason(for: failure.error, at: failure.stage, credentialsRejected: credentialsRejected),
                attempt: history.attempts + 1, after: failure.error
            )
        }
    }

    private func attempt<Output>(
        _ exchange: (RedisConnection, () -> Deadline) throws(RedisConnection.ExchangeFailure) -> [RESPValue],
        deadline: ContinuousClock.Instant?,
        interpret: ([RESPValue]) -> Interpretation<Output>
    ) -> AttemptOutcome<Output> {
        if let deadline, ContinuousClock.now >= deadline {
            let error = RedisError(.deadlineExceeded, "the caller's deadline passed before sending")
            return .failed(Failure(error: error, stage: .connecting, output: nil))
        }
        let connection: RedisConnection
        do {
            connection = try pool.lease(callerDeadline: deadline)
        } catch {
            return .failed(
                Failure(
                    error: error.error, stage: error.stage, output: nil,
                    credentialsRejected: error.credentialsRejected, credentialsGeneration: error.credentialsGeneration
                ))
        }
        let replies: [RESPValue]
        do {
            replies = try exchange(connection) { Deadline.earliest(ceiling: configuration.timeout, caller: deadline) }
        } catch {
            pool.drop(connection)
            reporter.connectionClosed(endpoint: connection.endpointDescription, error: error.error)
            return .failed(Failure(error: error.error, stage: error.requestMayHaveRun ? .awaitingReply : .sending, output: nil))
        }
        let interpretation = interpret(replies)
        guard let reason = interpretation.retryReason else {
            pool.giveBack(connection)
            return .done(interpretation.output)
        }
        // READONLY: this connection reached a demoted primary; it must not be lent again.
        if reason.kind == .server(code: "READONLY") {
            pool.drop(connection)
        } else {
            pool.giveBack(connection)
        }
        return .failed(Failure(error: reason, stage: .replied, output: interpretation.output))
    }
}
