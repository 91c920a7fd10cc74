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
        if let traceID {
            setenv(traceVariable, traceID, 1)
        } else {
            unsetenv(traceVariable)
        }
    }
}
