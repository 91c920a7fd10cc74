/// The pool's bookkeeping with no I/O and no locking, so every decision can be tested alone:
/// lazy creation, last-in-first-out reuse (the most recently used connection is the one most
/// likely still alive and warm), a hard cap on open connections, and which new connections
/// replace dropped ones (reconnects, as opposed to the pool growing).
struct PoolState<Connection> {
    struct IdleEntry {
        let connection: Connection
        let since: ContinuousClock.Instant
    }

    enum Lease {
        /// Reuse this idle connection (checked for staleness by the caller, outside the lock).
        case reuse(Connection, idleSince: ContinuousClock.Instant)
        /// A slot is reserved: the caller opens a connection, then `returned` or `forgot` it.
        /// `replacing`: the new connection takes the place of one that was dropped.
        case create(replacing: Bool)
    }

    let maximum: Int
    private(set) var idle: [IdleEntry] = []
    /// Lent out, or reserved for a connection being opened.
    private(set) var leased = 0
    /// Connections dropped (failed, stale, demoted primary) and not replaced yet.
    private(set) var droppedNotReplaced = 0

    init(maximum: Int) {
        self.maximum = maximum
    }

    var openCount: Int { idle.count + leased }

    /// nil when every slot is in use: wait for a `returned` or `forgot`.
    mutating func lease() -> Lease? {
        if let entry = idle.popLast() {
            leased += 1
            return .reuse(entry.connection, idleSince: entry.since)
        }
        guard openCount < maximum else { return nil }
        leased += 1
        let replacing = droppedNotReplaced > 0
        if replacing { droppedNotReplaced -= 1 }
        return .create(replacing: replacing)
    }

    /// A lent connection comes back healthy.
    mutating func returned(_ connection: Connection, at instant: ContinuousClock.Instant) {
        precondition(leased > 0, "a connection returned that was never lent")
        leased -= 1
        idle.append(IdleEntry(connection: connection, since: instant))
    }

    /// A reserved slot could not be filled (the open failed); a replacement stays owed.
    mutating func forgot(replacing: Bool = false) {
        precondition(leased > 0, "a connection forgotten that was never lent")
        leased -= 1
        if replacing { droppedNotReplaced += 1 }
    }

    /// A lent connection was closed because it failed or must not be lent again.
    mutating func dropped() {
        precondition(leased > 0, "a connection dropped that was never lent")
        leased -= 1
        droppedNotReplaced += 1
    }

    /// Empties the idle list (after `READONLY`: every idle sibling points at the demoted primary).
    mutating func takeAllIdle() -> [Connection] {
        defer {
            droppedNotReplaced += idle.count
            idle.removeAll()
        }
        return idle.map(\.connection)
    }
}
