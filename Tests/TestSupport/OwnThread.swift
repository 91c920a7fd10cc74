import Foundation

/// Runs long CPU-bound or blocking work on a thread of its own and awaits it, so it never holds one
/// of Swift's cooperative threads: there are only as many as cores (two here), and a test that
/// occupies them delays every other test's scheduling, timing-sensitive ones included.
/// Expectations belong after the await, in the test's own task.
public func onOwnThread<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
