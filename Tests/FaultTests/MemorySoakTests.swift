import Foundation
import LambdaRuntime
import Testing
import TestSupport

/// Resident memory of the real binary over many invocations: a runtime that keeps something per
/// invocation (a distinct trace id handed to `setenv` was one: glibc keeps every value it was
/// given) grows without bound and a busy function dies of it after a million invocations. Not under
/// the sanitizers, whose own bookkeeping (ASan's quarantine) grows the resident memory.
@Suite(.enabled(if: !FunctionProcess.isInstrumented)) struct MemorySoakTests {
    static let warmUp = 2_000
    static let total = 20_000

    @Test func residentMemoryStaysFlatOverTwentyThousandInvocations() async throws {
        let api = SoakRuntimeAPI(checkpoints: [Self.warmUp, Self.total])
        let server = try LoopbackHTTPServer(maximumBodySize: 1 << 20) { api.respond(to: $0) }
        defer { server.stop() }
        let process = try FunctionProcess.spawn("RuntimeEcho", runtimeAPI: server.address, ["AWS_LAMBDA_LOG_LEVEL": "WARN"])
        defer { process.kill() }

        // Generous waits: the soak takes a few seconds on an idle machine, more on a busy one.
        let reachedWarmUp = await onOwnThread { api.waitForCheckpoint(0, timeout: .seconds(120)) }
        try #require(reachedWarmUp, "\(api.served) invocations served; \(process.output().suffix(1000))")
        let afterWarmUp = try #require(ProcessStatus.residentKiB(of: process.pid))
        api.release(checkpoint: 0)

        let reachedEnd = await onOwnThread { api.waitForCheckpoint(1, timeout: .seconds(600)) }
        try #require(reachedEnd, "\(api.served) invocations served; \(process.output().suffix(1000))")
        let atEnd = try #require(ProcessStatus.residentKiB(of: process.pid))
        api.release(checkpoint: 1)

        #expect(api.responses == Self.total, "every invocation was answered")
        #expect(atEnd - afterWarmUp < 256, "resident memory grew from \(afterWarmUp) KiB to \(atEnd) KiB over \(Self.total - Self.warmUp) invocations")
        #expect(await onOwnThread { process.waitForExit(timeout: .seconds(30)) } != nil, "a 403 on /next ends the process")
    }
}

/// The Runtime API for the soak: `/next` answers at once with a small event and Lambda's headers,
/// a distinct request id and trace id each time (as on Lambda), and holds the `/next` that follows
/// each checkpoint's last invocation until the test has measured and released it. After the last
/// checkpoint it answers 403, which ends the runtime.
// @unchecked: `state` is only touched with `condition` locked.
final class SoakRuntimeAPI: @unchecked Sendable {
    private struct State {
        var served = 0
        var responses = 0
        var reached: Set<Int> = []
        var released: Set<Int> = []
    }

    private let checkpoints: [Int]
    private var state = State()
    private let condition = NSCondition()
    private let deadline = String(Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000)

    init(checkpoints: [Int]) {
        self.checkpoints = checkpoints
    }

    var served: Int { locked { $0.served } }
    var responses: Int { locked { $0.responses } }

    func waitForCheckpoint(_ index: Int, timeout: Duration) -> Bool {
        let limit = Date().addingTimeInterval(Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while !state.reached.contains(index) {
            guard condition.wait(until: limit) else { return state.reached.contains(index) }
        }
        return true
    }

    func release(checkpoint index: Int) {
        locked { _ = $0.released.insert(index) }
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        if request.method == "GET" && request.path.hasSuffix("/runtime/invocation/next") {
            return next()
        }
        if request.method == "POST" && request.path.hasSuffix("/response") {
            locked { $0.responses += 1 }
            return HTTPResponse(status: 202)
        }
        return HTTPResponse(status: 400)
    }

    private func next() -> HTTPResponse {
        condition.lock()
        let served = state.served
        if let checkpoint = checkpoints.firstIndex(of: served) {
            state.reached.insert(checkpoint)
            condition.broadcast()
            while !state.released.contains(checkpoint) { condition.wait() }
            if checkpoint == checkpoints.count - 1 {
                condition.unlock()
                return HTTPResponse(status: 403)
            }
        }
        state.served += 1
        let number = state.served
        condition.unlock()
        let hex = String(number, radix: 16)
        let padded = String(repeating: "0", count: max(0, 24 - hex.count)) + hex
        return HTTPResponse(
            status: 200,
            headers: [
                HTTPHeader("Lambda-Runtime-Aws-Request-Id", "soak-\(number)"),
                HTTPHeader("Lambda-Runtime-Deadline-Ms", deadline),
                HTTPHeader("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:RuntimeEcho"),
                HTTPHeader("Lambda-Runtime-Trace-Id", "Root=1-6565a0f1-\(padded);Parent=\(padded.suffix(16));Sampled=1"),
            ], body: Array(#"{"n":\#(number)}"#.utf8))
    }

    private func locked<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return body(&state)
    }
}
