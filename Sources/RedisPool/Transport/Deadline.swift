/// The moment an operation must give up, and which limit that moment came from: the client's own
/// ceiling (`REDIS_TIMEOUT_MS`, reported as `.timeout`) or the caller's budget (reported as
/// `.deadlineExceeded`), so a log line says which of the two ran out.
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant
    let expiryKind: RedisError.Kind

    /// The earlier of `now + ceiling` and the caller's deadline.
    static func earliest(ceiling: Duration, caller: ContinuousClock.Instant?) -> Deadline {
        let ceilingInstant = ContinuousClock.now.advanced(by: ceiling)
        if let caller, caller < ceilingInstant {
            return Deadline(instant: caller, expiryKind: .deadlineExceeded)
        }
        return Deadline(instant: ceilingInstant, expiryKind: .timeout)
    }

    var hasPassed: Bool { ContinuousClock.now >= instant }

    /// For `poll`: rounded up so a wait never ends a little early and spins; 0 once passed.
    var remainingMilliseconds: Int32 {
        let remaining = ContinuousClock.now.duration(to: instant)
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    func expired(_ what: String) -> RedisError {
        RedisError(expiryKind, expiryKind == .deadlineExceeded ? "the caller's deadline passed \(what)" : "timed out \(what)")
    }
}
