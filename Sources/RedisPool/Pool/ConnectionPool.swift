/// Lends connections to one borrower at a time, opening them lazily up to the configured maximum.
///
/// One Lambda execution environment runs one invocation at a time, so in the usual case a single
/// connection is created and reused forever; the cap matters when a handler works in parallel,
/// since total connections on the server are concurrency times connections per environment.
final class ConnectionPool: Sendable {
    private let state: ConditionLock<PoolState<RedisConnection>>
    private let configuration: RedisConfiguration
    private let tlsContext: TLSContext?

    init(configuration: RedisConfiguration, tlsContext: TLSContext?) {
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.state = ConditionLock(PoolState(maximum: configuration.poolMaximum))
    }

    deinit {
        closeIdle()
    }

    /// A healthy connection, reused or newly opened. Waits for a free slot at most the pool wait
    /// timeout (then `.poolExhausted`) and never past the caller's deadline.
    func lease(callerDeadline: ContinuousClock.Instant?) throws(RedisError) -> RedisConnection {
        let waitDeadline = Deadline.earliest(ceiling: configuration.effectivePoolWaitTimeout, caller: callerDeadline)
        while true {
            switch nextLease(until: waitDeadline) {
            case nil:
                if waitDeadline.expiryKind == .deadlineExceeded {
                    throw waitDeadline.expired("while every pooled connection was busy")
                }
                throw RedisError(
                    .poolExhausted,
                    "all \(configuration.poolMaximum) connections stayed busy for \(configuration.effectivePoolWaitTimeout); raise REDIS_POOL_MAX or use fewer parallel commands"
                )
            case .create:
                return try open(callerDeadline: callerDeadline)
            case .reuse(let connection, let idleSince):
                if isHealthy(connection, idleSince: idleSince, callerDeadline: callerDeadline) {
                    return connection
                }
                discard(connection)
            }
        }
    }

    /// Takes a connection back: idle again if healthy, closed if it failed while lent.
    func giveBack(_ connection: RedisConnection) {
        guard !connection.isBroken else {
            discard(connection)
            return
        }
        state.withLock { state, _ in state.returned(connection, at: connection.lastUsed) }
        state.signal()
    }

    func discard(_ connection: RedisConnection) {
        connection.close()
        state.withLock { state, _ in state.forgot() }
        state.signal()
    }

    /// Closes every idle connection (lent ones are closed as they come back broken, or reused).
    func closeIdle() {
        let idle = state.withLock { state, _ in state.takeAllIdle() }
        for connection in idle {
            connection.close()
        }
    }

    var openCount: Int {
        state.withLock { state, _ in state.openCount }
    }

    /// The state machine's answer, waiting while every slot is in use; nil once the wait
    /// deadline passed.
    private func nextLease(until deadline: Deadline) -> PoolState<RedisConnection>.Lease? {
        state.withLock { state, waiter in
            while true {
                if let lease = state.lease() { return lease }
                guard waiter.wait(until: deadline.instant) else { return nil }
            }
        }
    }

    private func open(callerDeadline: ContinuousClock.Instant?) throws(RedisError) -> RedisConnection {
        do {
            return try RedisConnection.open(
                configuration: configuration,
                tlsContext: tlsContext,
                deadline: Deadline.earliest(ceiling: configuration.timeout, caller: callerDeadline)
            )
        } catch {
            state.withLock { state, _ in state.forgot() }
            state.signal()
            throw error
        }
    }

    /// A socket that is readable while no reply is due holds an EOF or stray bytes (the server
    /// closed it while this process was frozen, or a reply arrived after a timeout): discard it.
    /// A connection idle for long may sit on a flow a NAT dropped silently, which no poll can
    /// see: a `PING` with a short timeout proves it.
    private func isHealthy(_ connection: RedisConnection, idleSince: ContinuousClock.Instant, callerDeadline: ContinuousClock.Instant?) -> Bool {
        if connection.hasUnexpectedInput() { return false }
        guard idleSince.duration(to: .now) > configuration.pingAfterIdle else { return true }
        let probeDeadline = Deadline.earliest(ceiling: min(configuration.timeout, .seconds(1)), caller: callerDeadline)
        guard let reply = try? connection.exchange([RedisCommand("PING")], deadline: probeDeadline) else { return false }
        return reply.first == .simpleString("PONG")
    }
}
