/// What a request's replies mean, and the server error that might justify trying it again
/// (`RetryPolicy` has the last word).
struct Interpretation<Output> {
    let output: Output
    let retryReason: RedisError?
}

extension RedisClient {
    private enum AttemptOutcome<Output> {
        case done(Output)
        /// `output` is what to return if no retry follows (per-command results), nil to throw.
        case failed(RedisError, RetryPolicy.Stage, output: Output?)
    }

    /// Sends `commands` in one write on a pooled connection and interprets the replies, retrying
    /// as `RetryPolicy` decides.
    func perform<Output>(
        _ commands: [RedisCommand],
        idempotent: Bool,
        deadline: ContinuousClock.Instant?,
        interpret: ([RESPValue]) -> Interpretation<Output>
    ) throws(RedisError) -> Output {
        var history = RetryPolicy.History()
        while true {
            history.attempts += 1
            let (error, stage, output): (RedisError, RetryPolicy.Stage, Output?)
            switch attempt(commands, deadline: deadline, interpret: interpret) {
            case .done(let result): return result
            case .failed(let failure, let failedStage, let partial): (error, stage, output) = (failure, failedStage, partial)
            }
            switch RetryPolicy.decision(after: error, at: stage, idempotent: idempotent, history: history) {
            case .fail:
                if let output { return output }
                throw error
            case .reconnectAndRetry:
                history.readOnlyRetried = true
                pool.closeIdle()
            case .retryAfterBackoff:
                if error.kind == .timeout { history.timeoutRetried = true }
                guard RetryPolicy.sleep(beforeRetry: history.attempts, callerDeadline: deadline) else {
                    if let output { return output }
                    throw error
                }
            }
        }
    }

    private func attempt<Output>(
        _ commands: [RedisCommand],
        deadline: ContinuousClock.Instant?,
        interpret: ([RESPValue]) -> Interpretation<Output>
    ) -> AttemptOutcome<Output> {
        if let deadline, ContinuousClock.now >= deadline {
            return .failed(RedisError(.deadlineExceeded, "the caller's deadline passed before sending"), .connecting, output: nil)
        }
        let connection: RedisConnection
        do {
            connection = try pool.lease(callerDeadline: deadline)
        } catch {
            return .failed(error, .connecting, output: nil)
        }
        let replies: [RESPValue]
        do {
            replies = try connection.exchange(commands, deadline: Deadline.earliest(ceiling: configuration.timeout, caller: deadline))
        } catch {
            pool.discard(connection)
            return .failed(error.error, error.requestMayHaveRun ? .awaitingReply : .sending, output: nil)
        }
        let interpretation = interpret(replies)
        guard let reason = interpretation.retryReason else {
            pool.giveBack(connection)
            return .done(interpretation.output)
        }
        // READONLY: this connection reached a demoted primary; it must not be lent again.
        if reason.kind == .server(code: "READONLY") {
            pool.discard(connection)
        } else {
            pool.giveBack(connection)
        }
        return .failed(reason, .replied, output: interpretation.output)
    }
}
