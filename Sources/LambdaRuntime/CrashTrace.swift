import CCrashTrace

/// The crash line (see `crash_trace.h`): installed once at start, told each invocation's request
/// id so that a crash names the invocation it broke.
enum CrashTrace {
    static func install(logger: LambdaLogger) {
        if crash_trace_install() != 0 {
            logger.warn("Runtime.CrashTraceUnavailable: the crash handler could not be fully installed; a crash will not be reported")
        }
    }

    /// The invocation now running, or nil between invocations.
    static func setRequestID(_ requestID: String?) {
        guard var requestID else {
            crash_trace_set_request_id(nil, 0)
            return
        }
        requestID.withUTF8 { crash_trace_set_request_id(UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: CChar.self), $0.count) }
    }
}
