#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time, the clock Lambda's deadline (epoch milliseconds) is expressed in.
enum WallClock {
    static func nanosecondsSinceEpoch() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func millisecondsSinceEpoch() -> Int64 {
        nanosecondsSinceEpoch() / 1_000_000
    }
}
