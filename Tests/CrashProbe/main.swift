#if canImport(Glibc)
import Glibc
#endif
import LambdaRuntime

/// Test-only: crashes the way its event asks, so the fault tests can check that a crash leaves a
/// line naming the signal and the invocation. Not a product, not reachable from the shipped
/// functions; any other event is echoed.
struct CrashOnDemand: LambdaHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8] {
        switch String(decoding: event, as: UTF8.self) {
        case #""trap""#:
            // A Swift runtime trap (index out of range): SIGILL on x86_64, SIGTRAP on arm64.
            let empty: [UInt8] = []
            return [empty[event.count]]
        case #""overflow""#:
            return [UInt8(truncatingIfNeeded: recurse(1))]
        case #""abort""#:
            abort()
        case #""held-then-trap""#:
            // A line held for after the answer (as the metric line is), then a crash before the answer.
            StandardStreams.emitAfterAnswer(Array("held line of \(context.requestID)\n".utf8), to: StandardStreams.output)
            let empty: [UInt8] = []
            return [empty[event.count]]
        case #""segv""#:
            UnsafeMutablePointer<Int>(bitPattern: 16)?.pointee = 1
            return event
        default:
            return event
        }
    }

    /// Not a tail call (the sum after it), so every level keeps its frame until the stack is gone.
    @inline(never)
    private func recurse(_ depth: Int) -> Int {
        var frame = (depth, depth, depth, depth, depth, depth, depth, depth)
        let deeper = withUnsafeMutablePointer(to: &frame) { recurse($0.pointee.0 &+ 1) }
        return deeper &+ frame.7
    }
}

Lambda.run(name: "CrashProbe") { CrashOnDemand() }
