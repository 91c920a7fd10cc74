import Foundation

/// Runs `body` on `count` real threads at once and waits for all. The blocking client must not
/// be exercised on Swift concurrency's cooperative pool, which has one thread per core here.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// Starts `body` on its own thread and returns at once.
func inBackground(_ body: @escaping @Sendable () -> Void) {
    Thread { body() }.start()
}

func milliseconds(since start: ContinuousClock.Instant) -> Int {
    let (seconds, attoseconds) = start.duration(to: .now).components
    return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
}
