import Glibc

/// A value guarded by a mutex, with a condition variable to wait for it to change within a
/// deadline. `Synchronization.Mutex` has no condition variable, and a bounded wait for a free
/// connection needs one; the clock is the monotonic one, so wall-clock changes cannot stretch it.
///
/// `@unchecked Sendable`: `value` is only touched while `mutex` is held.
final class ConditionLock<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` under the lock; `body` may wait for a change with the `Waiter` it is given.
    func withLock<Result>(_ body: (inout Value, Waiter) -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value, Waiter(mutex: mutex, condition: condition))
    }

    /// Wakes one thread waiting in `Waiter.wait`.
    func signal() {
        pthread_cond_signal(condition)
    }

    struct Waiter {
        fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>
        fileprivate let condition: UnsafeMutablePointer<pthread_cond_t>

        /// Releases the lock until signalled or `instant`; false once `instant` has passed.
        /// Spurious wake-ups return true: callers re-check their state in a loop anyway.
        func wait(until instant: ContinuousClock.Instant) -> Bool {
            let remaining = ContinuousClock.now.duration(to: instant)
            guard remaining > .zero else { return false }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let (seconds, attoseconds) = remaining.components
            var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
            var wholeSeconds = Int(now.tv_sec) + Int(seconds)
            if nanoseconds >= 1_000_000_000 {
                nanoseconds -= 1_000_000_000
                wholeSeconds += 1
            }
            var until = timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds)
            return pthread_cond_timedwait(condition, mutex, &until) != ETIMEDOUT
        }
    }
}
