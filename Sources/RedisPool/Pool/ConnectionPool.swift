/// Lends connections to one borrower at a time, opening them lazily up to the configured maximum.
///
/// One Lambda execution environment runs one invocation at a time, so in the usual case a single
/// connection is created and reused forever; the cap matters when a handler works in parallel,
/// since total connections on the server are concurrency times connections per environment.
final class ConnectionPool: Sendable {
    /// Why no connection could be lent, and at which stage (for `RetryPolicy`).
    struct LeaseFailure: Error {
        let error: RedisError
        let stage: RetryPolicy.Stage
        let credentialsRejected: Bool
        /// The credentials' generation the failed open used (see `CredentialRefreshPolicy`).
        let credentialsGeneration: Int
    }

    private let state: ConditionLock<PoolState<RedisConnection>>
    private let credentialState: CredentialStore
    private let configuration: RedisConfiguration
    private let tlsContext: TLSContext?
    private let reporter: ClientReporter

    init(configuration: RedisConfiguration, tlsContext: TLSContext?, reporter: ClientReporter, credentials: CredentialStore) {
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.reporter = reporter
        self.state = ConditionLock(PoolState(maximum: configuration.poolMaximum))
        self.credentialState = credentials
    }

    deinit {
        _ = closeIdle()
    }

    var endpointDescription: String { "\(configuration.endpoint):\(configuration.port)" }

    /// A healthy connection, reused or newly opened. Waits for a free slot at most the pool wait
    /// timeout (then `.poolExhausted`) and never past the caller's deadline.
    func lease(callerDeadline: ContinuousClock.Instant?) throws(LeaseFailure) -> RedisConnection {
        let waitDeadline = Deadline.earliest(ceiling: configuration.effectivePoolWaitTimeout, caller: callerDeadline)
        while true {
            switch nextLease(until: waitDeadline) {
            case nil:
                let error =
                    waitDeadline.expiryKind == .deadlineExceeded
                    ? waitDeadline.expired("while every pooled connection was busy")
                    : RedisError(
                        .poolExhausted,
                        "all \(configuration.poolMaximum) connections stayed busy for \(configuration.effectivePoolWaitTimeout); raise REDIS_POOL_MAX or use fewer parallel commands"
                    )
                throw LeaseFailure(error: error, stage: .connecting, credentialsRejected: false, credentialsGeneration: 0)
            case .create(let replacing):
                return try open(callerDeadline: callerDeadline, replacing: replacing)
            case .reuse(let connection, let idleSince):
                if isHealthy(connection, idleSince: idleSince, callerDeadline: callerDeadline) {
                    return connection
                }
                drop(connection)
            }
        }
    }

    /// Takes a connection back: idle again if healthy, closed if it failed while lent.
    func giveBack(_ connection: RedisConnection) {
        guard !connection.isBroken else {
            drop(connection)
            return
        }
        state.withLock { state, _ in state.returned(connection, at: connection.lastUsed) }
        state.signal()
    }

    /// Closes a lent connection that failed or must not be lent again; the next open replaces it.
    func drop(_ connection: RedisConnection) {
        connection.close()
        state.withLock { state, _ in state.dropped() }
        state.signal()
    }

    /// Closes every idle connection (lent ones are closed as they come back broken, or reused).
    @discardableResult
    func closeIdle() -> Int {
        let idle = state.withLock { state, _ in state.takeAllIdle() }
        for connection in idle {
            connection.close()
        }
        return idle.count
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

    private func open(callerDeadline: ContinuousClock.Instant?, replacing: Bool) throws(LeaseFailure) -> RedisConnection {
        let (credentials, generation) = credentialState.withLock { state, _ in (state.credentials, state.policy.generation) }
        do {
            let connection = try RedisConnection.open(
                configuration: configuration,
                credentials: credentials,
                tlsContext: tlsContext,
                deadline: Deadline.earliest(ceiling: configuration.timeout, caller: callerDeadline)
            )
            if replacing { reporter.reconnected(endpoint: endpointDescription) }
            return connection
        } catch {
            state.withLock { state, _ in state.forgot(replacing: replacing) }
            state.signal()
            reporter.connectFailed(endpoint: endpointDescription, error: error.error)
            throw LeaseFailure(
                error: error.error, stage: error.peerAccepted ? .handshaking : .connecting,
                credentialsRejected: error.credentialsRejected, credentialsGeneration: generation
            )
        }
    }

    /// After the server refused the credentials of `generation`: reads them again through
    /// `provider` if `CredentialRefreshPolicy` allows. True when a retry may use newer credentials.
    func refreshCredentials(after generation: Int, from provider: any RedisCredentialsProvider) -> Bool {
        let decision = credentialState.withLock { state, _ in state.policy.decide(attemptGeneration: generation, now: .now) }
        switch decision {
        case .fail: return false
        case .retryWithNewer: return true
        case .refresh: break
        }
        let fresh: RedisCredentials
        do {
            fresh = try provider.currentCredentials()
        } catch {
            reporter.credentialsRefreshFailed(error: error)
            return false
        }
        let changed = credentialState.withLock { state, _ in
            let changed = state.credentials != fresh
            state.credentials = fresh
            state.policy.refreshed(changed: changed)
            return changed
        }
        reporter.credentialsRefreshed(username: fresh.username, changed: changed)
        return changed
    }

    /// A socket that is readable while no reply is due holds an EOF or stray bytes (the server
    /// closed it while this process was frozen, or a reply arrived after a timeout): discard it.
    /// A connection idle for long may sit on a flow a NAT dropped silently, which no poll can
    /// see: a `PING` with a short timeout proves it.
    private func isHealthy(_ connection: RedisConnection, idleSince: ContinuousClock.Instant, callerDeadline: ContinuousClock.Instant?) -> Bool {
        if connection.hasUnexpectedInput() {
            reporter.staleConnectionDiscarded(endpoint: endpointDescription)
            return false
        }
        guard idleSince.duration(to: .now) > configuration.pingAfterIdle else { return true }
        let probeDeadline = Deadline.earliest(ceiling: min(configuration.timeout, .seconds(1)), caller: callerDeadline)
        guard let reply = try? connection.exchange([RedisCommand("PING")], deadline: probeDeadline),
            reply.first == .simpleString("PONG")
        else {
            reporter.keepAliveFailed(endpoint: endpointDescription)
            return false
        }
        return true
    }
}
