#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment, read with `getenv` (no dictionary of the whole environment is built).
enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// `_X_AMZN_TRACE_ID` carries the invocation's trace header to the X-Ray SDKs; it must not
    /// outlive its invocation, or the next one would be traced into the wrong segment.
    static let traceVariable = "_X_AMZN_TRACE_ID"

    static func exportTraceID(_ traceID: String?) {
        traceEntry.withLock { $0.export(traceID) }
    }

    /// Several runtime loops may share one process (the tests run them in parallel).
    private static let traceEntry = LockedState(OwnedEnvironmentEntry(name: traceVariable))
}

/// One environment variable whose `NAME=value` string the runtime owns and rewrites in place.
///
/// Why not `setenv`: glibc's `setenv` copies `NAME=value` into a new allocation for every value it
/// has not seen before and never frees it (an earlier `getenv` may still point into the old one),
/// so a distinct trace id per invocation made the process grow by about 150 bytes an invocation,
/// 150 MB a million. `putenv` instead puts the caller's own string into `environ` without copying;
/// rewriting that buffer changes the variable, and nothing is allocated per invocation.
///
/// The buffer lives as long as the process (the environment points into it). A value longer than
/// the buffer gets a buffer twice as large (or more); the old one is kept, not freed, for the same
/// reason glibc keeps its copies, but that happens a handful of times in a process's life, not per
/// invocation. `putenv` runs on every export (it finds the entry and stores the same pointer, no
/// allocation), so the entry is back in place even if other code replaced it with `setenv`.
///
/// Thread safety: exports are serialised by the caller's lock, and the runtime exports between
/// invocations, before the handler runs; like `setenv`, this is not safe against a `getenv` of the
/// same variable racing on another thread, which could read a mix of two trace ids (the C library
/// offers nothing better: the environment has no lock readers take).
struct OwnedEnvironmentEntry {
    private let name: String
    /// `NAME=`.
    private let prefix: [UInt8]
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    init(name: String) {
        self.name = name
        prefix = Array(name.utf8) + [UInt8(ascii: "=")]
    }

    /// Sets the variable to `value`, or removes it for nil (the buffer stays for the next value).
    mutating func export(_ value: String?) {
        guard let value else {
            unsetenv(name)
            return
        }
        let needed = prefix.count + value.utf8.count + 1
        if needed > capacity {
            // The previous buffer stays allocated on purpose (see above).
            capacity = max(needed, capacity * 2, 256)
            buffer = .allocate(capacity: capacity)
        }
        guard let buffer else { return }
        // Copied in two blocks: byte by byte, the copy was 3,000 instructions of every invocation
        // (a trace header comes with each one on Lambda; BENCHMARKS.md, issue 13).
        let bytes = UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: needed)
        var text = value
        let end = text.withUTF8 { utf8 in
            _ = UnsafeMutableBufferPointer(rebasing: bytes[0..<prefix.count]).initialize(from: prefix)
            _ = UnsafeMutableBufferPointer(rebasing: bytes[prefix.count..<(prefix.count + utf8.count)]).initialize(from: utf8)
            return prefix.count + utf8.count
        }
        // A NUL would cut the value short; it cannot come from a header line, but keep it whole.
        for index in prefix.count..<end where bytes[index] == 0 {
            bytes[index] = UInt8(ascii: " ")
        }
        bytes[end] = 0
        putenv(buffer)
    }
}
