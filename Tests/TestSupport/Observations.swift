import Synchronization

/// Values appended from several threads (what handlers saw, what each borrower got). The `Mutex`
/// lives in a class: a local `Mutex` captured by the threads' closures is a variable those
/// closures share, and ThreadSanitizer's exclusivity check reports two overlapping `withLock`s on
/// it as a race.
public final class Observations<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    public init() {}

    public func append(_ value: Value) { values.withLock { $0.append(value) } }

    public var all: [Value] { values.withLock { $0 } }
}
