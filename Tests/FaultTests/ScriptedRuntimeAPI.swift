import Foundation
import LambdaRuntime

/// A Runtime API on loopback that the fault tests drive while the function runs: queue an
/// invocation, do something to Redis, queue the next, wait for each answer. `/next` blocks while
/// nothing is queued, as on Lambda between invocations. It can switch `/next` to answering 500,
/// and it records `/runtime/init/error` posts.
///
/// TestSupport's `RuntimeAPIServer` plays a script fixed up front; these tests need to act between
/// invocations, so this is a different script, served by the same `LoopbackHTTPServer` (see
/// `FunctionProcess`), with no HTTP of its own.
// @unchecked: `state` is only read or written with `condition` locked (see `update` and `waitUntil`).
// One pthread-based lock rather than Synchronization.Mutex: ThreadSanitizer cannot see the
// ordering of Mutex's futex path on Linux and reports its users as racing.
final class ScriptedRuntimeAPI: @unchecked Sendable {
    struct Answer: Sendable {
        enum Kind: Sendable, Equatable { case response, error }
        let kind: Kind
        let body: [UInt8]
        /// `Lambda-Runtime-Function-Error-Type` of an error post.
        let errorType: String?
        /// When the body was fully read, to check answers arrive before deadlines.
        let receivedAt: ContinuousClock.Instant
        /// The function's output as it stood when the post arrived (before it was answered), when
        /// `snapshotOutputAtEachAnswer` asked for it: what the function wrote before posting.
        let outputWhenPosted: String?

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private struct Invocation {
        let requestID: String
        let event: [UInt8]
        let deadlineEpochMilliseconds: Int64
    }

    private struct State {
        var queued: [Invocation] = []
        var answers: [String: Answer] = [:]
        var initErrors: [Answer] = []
        var nextCount = 0
        var failNextWith500 = false
        var stopped = false
        var invocationCount = 0
        var outputSnapshot: (@Sendable () -> String)?
    }

    private var state = State()
    /// Guards `state`, and wakes `/next` handlers and answer waiters when it changes.
    private let condition = NSCondition()

    /// Ends the script: a `/next` still waiting returns, and any later one answers 503.
    func stop() {
        update { $0.stopped = true }
    }

    /// Queues one invocation; the function receives it on its next `/next`. Returns the request id.
    @discardableResult
    func invoke(_ event: String, deadlineIn: Duration = .seconds(30)) -> String {
        let milliseconds = deadlineIn.components.seconds * 1000 + deadlineIn.components.attoseconds / 1_000_000_000_000_000
        let deadline = Int64(Date().timeIntervalSince1970 * 1000) + milliseconds
        return update { state in
            state.invocationCount += 1
            let requestID = "fault-\(state.invocationCount)-\(UUID().uuidString.prefix(8))"
            state.queued.append(Invocation(requestID: requestID, event: Array(event.utf8), deadlineEpochMilliseconds: deadline))
            return requestID
        }
    }

    /// The answer to `requestID`, waiting up to `timeout`.
    func answer(to requestID: String, timeout: Duration) -> Answer? {
        waitUntil(timeout: timeout) { $0.answers[requestID] }
    }

    /// Invokes and waits for the answer.
    func call(_ event: String, timeout: Duration = .seconds(10)) -> Answer? {
        answer(to: invoke(event), timeout: timeout)
    }

    /// From now on every answer records the function's output as it stood when the post arrived.
    /// The function waits for the post's reply, so nothing it writes after the post can be in it.
    func snapshotOutputAtEachAnswer(_ snapshot: @escaping @Sendable () -> String) {
        update { $0.outputSnapshot = snapshot }
    }

    /// From now on `/next` answers 500 (the runtime must exit at once).
    func failNextRequestsWith500() {
        update { $0.failNextWith500 = true }
    }

    /// The first `/runtime/init/error` post, waiting up to `timeout`.
    func initError(timeout: Duration) -> Answer? {
        waitUntil(timeout: timeout) { $0.initErrors.first }
    }

    /// Waits until the function has asked for `/next` at least `count` times (it is idle then).
    func waitForNextRequests(_ count: Int, timeout: Duration) -> Bool {
        waitUntil(timeout: timeout) { $0.nextCount >= count ? true : nil } ?? false
    }

    /// Changes `state` and wakes every waiter.
    private func update<T>(_ change: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        let result = change(&state)
        condition.broadcast()
        return result
    }

    /// Waits until `probe` finds something in `state`: changes happen under the same lock and
    /// broadcast, so none is missed between a probe and the wait that follows it.
    private func waitUntil<T>(timeout: Duration, _ probe: (State) -> T?) -> T? {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value = probe(state) { return value }
            guard condition.wait(until: deadline) else { return probe(state) }
        }
    }

    /// The `LoopbackHTTPServer` responder; blocks on `/next` until an invocation is queued.
    func respond(to request: HTTPRequest) -> HTTPResponse {
        let accepted = HTTPResponse.json(202, Array(#"{"status":"OK"}"#.utf8))
        let invocationPrefix = "/2018-06-01/runtime/invocation/"
        let path = String(request.path)
        if request.method == "GET", path == invocationPrefix + "next" {
            return nextInvocation()
        }
        let snapshot = update { $0.outputSnapshot }
        let answer = Answer(
            kind: path.hasSuffix("/response") ? .response : .error, body: request.body,
            errorType: request.header("Lambda-Runtime-Function-Error-Type"), receivedAt: .now, outputWhenPosted: snapshot?())
        if request.method == "POST", path == "/2018-06-01/runtime/init/error" {
            update { $0.initErrors.append(answer) }
            return accepted
        }
        let parts = path.dropFirst(invocationPrefix.count).split(separator: "/")
        guard request.method == "POST", path.hasPrefix(invocationPrefix), parts.count == 2,
            parts[1] == "response" || parts[1] == "error"
        else {
            return HTTPResponse(status: 404)
        }
        let isFirstAnswer = update { state in
            guard state.answers[String(parts[0])] == nil else { return false }
            state.answers[String(parts[0])] = answer
            return true
        }
        return isFirstAnswer ? accepted : HTTPResponse.json(400, Array(#"{"errorMessage":"answered twice"}"#.utf8))
    }

    private func nextInvocation() -> HTTPResponse {
        update { $0.nextCount += 1 }
        enum Step {
            case serve(Invocation)
            case fail, stop
        }
        let step: Step =
            waitUntil(timeout: .seconds(3600)) { state in
                if state.stopped { return .stop }
                if state.failNextWith500 { return .fail }
                return state.queued.first.map(Step.serve)
            } ?? .stop
        switch step {
        case .stop:
            return HTTPResponse(status: 503)
        case .fail:
            return HTTPResponse.json(500, Array(#"{"errorMessage":"scripted"}"#.utf8))
        case .serve(let invocation):
            update { state in state.queued.removeAll { $0.requestID == invocation.requestID } }
            return HTTPResponse.json(
                200, invocation.event,
                headers: [
                    HTTPHeader("Lambda-Runtime-Aws-Request-Id", invocation.requestID),
                    HTTPHeader("Lambda-Runtime-Deadline-Ms", String(invocation.deadlineEpochMilliseconds)),
                    HTTPHeader("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:fault"),
                ])
        }
    }
}
