#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time, the clock Lambda's deadline (epoch milliseconds) is expressed in; handlers
/// use it for timestamps they write (metric lines, `last_active`).
public enum WallClock {
    public static func nanosecondsSinceEpoch() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    public static func millisecondsSinceEpoch() -> Int64 {
        nanosecondsSinceEpoch() / 1_000_000
    }
}
