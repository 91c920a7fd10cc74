#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An in-process stand-in for Lambda's Runtime API, served on loopback to the real libcurl loop:
/// events go in at one end (`submit`), the function's answers come out at the other (`outcome`).
/// Invocations run one at a time, in the order they were submitted.
final class LocalRuntimeAPI: Sendable {
    enum Outcome: Equatable {
        case success([UInt8])
        /// The error JSON the runtime posted (or one describing why there is no answer).
        case failure([UInt8])
        /// Initialisation failed: no invocation will run. Carries the posted error JSON.
        case initFailed([UInt8])
        /// The runtime loop ended (exit status) before answering.
        case runtimeEnded(Int32)
    }

    /// An answer as posted, and whether the runtime has since asked for its next invocation: only
    /// then has it finished the invocation's work (what it writes after the post, its metric line).
    private struct PostedOutcome {
        let outcome: Outcome
        var runtimeMovedOn = false
    }

    private struct State {
        var queued: [(requestID: String, event: [UInt8])] = []
        var inFlight: Set<String> = []
        var outcomes: [String: PostedOutcome] = [:]
        var initFailure: [UInt8]?
        /// Set by the first `/next`: initialisation is over, and `/init/error` no longer applies.
        var initialized = false
        var runtimeExitStatus: Int32?
    }

    /// Lambda's synchronous payload limit (6 MB as Lambda counts it).
    static let payloadLimit = 6_291_556

    private let state = LockedState(State())
    private let functionTimeoutMilliseconds: Int64
    private let functionARN: String

    /// `AWS_LAMBDA_FUNCTION_TIMEOUT` (seconds, 300 by default) and the ARN follow the Runtime
    /// Interface Emulator, so a function sees locally what it sees there.
    init(functionName: String, environment: (String) -> String?) {
        let timeoutSeconds = environment("AWS_LAMBDA_FUNCTION_TIMEOUT").flatMap { Int64($0) }.flatMap { (1...900).contains($0) ? $0 : nil } ?? 300
        functionTimeoutMilliseconds = timeoutSeconds * 1000
        let region = environment("AWS_REGION") ?? "us-east-1"
        let name = environment("AWS_LAMBDA_FUNCTION_NAME") ?? functionName
        functionARN = "arn:aws:lambda:\(region):012345678912:function:\(name)"
    }

    /// Queues an event; the returned id names its outcome.
    func submit(_ event: [UInt8]) -> String {
        state.withLock { state in
            let requestID = UUID().uuidString.lowercased()
            state.queued.append((requestID, event))
            return requestID
        }
    }

    /// Blocks until the invocation is answered, initialisation has failed or the loop has ended.
    /// `finished`: waits further, until the runtime has asked for the next invocation or ended, so
    /// that what it writes after posting the answer (the metric line) is written too: `--event`
    /// ends the process once it has printed the last outcome. `--serve` answers its caller at the
    /// post, as Lambda does.
    func outcome(of requestID: String, finished: Bool = false) -> Outcome {
        let isReady = { (state: State) in
            state.outcomes[requestID].map { !finished || $0.runtimeMovedOn } ?? false
                || state.initFailure != nil || state.runtimeExitStatus != nil
        }
        return state.withLock(when: isReady) { state in
            if let posted = state.outcomes.removeValue(forKey: requestID) { return posted.outcome }
            if let initFailure = state.initFailure { return .initFailed(initFailure) }
            return .runtimeEnded(state.runtimeExitStatus ?? 1)
        }
    }

    /// The loop has returned: nobody will answer what is still queued.
    func runtimeEnded(exitStatus: Int32) {
        state.withLock { $0.runtimeExitStatus = exitStatus }
    }

    /// The Runtime API routes, as the libcurl client calls them.
    func respond(to request: HTTPRequest) -> HTTPResponse {
        let path = request.path
        switch (request.method, path) {
        case ("GET", RuntimeAPI.nextInvocationPath[...]):
            return nextInvocation()
        case ("POST", RuntimeAPI.initErrorPath[...]):
            return initError(request)
        case ("POST", _) where path.hasPrefix(RuntimeAPI.invocationPathPrefix):
            return complete(request, path: path.dropFirst(RuntimeAPI.invocationPathPrefix.count))
        default:
            return Self.unknownEndpoint(request)
        }
    }

    /// As on Lambda, `/init/error` is accepted only during initialisation, before the first `/next`:
    /// afterwards any local process could otherwise post one and turn every later answer into it.
    private func initError(_ request: HTTPRequest) -> HTTPResponse {
        let body = Self.errorBody(request)
        let accepted = state.withLock { state in
            guard !state.initialized else { return false }
            state.initFailure = body
            return true
        }
        guard accepted else {
            return .json(
                403,
                Array(
                    #"{"errorMessage":"Initialization is over: /runtime/init/error is accepted only before the first /next","errorType":"InvalidStateTransition"}"#
                        .utf8))
        }
        return .json(202, Array(#"{"status":"OK"}"#.utf8))
    }

    private func nextInvocation() -> HTTPResponse {
        state.withLock { state in
            state.initialized = true
            for requestID in state.outcomes.keys { state.outcomes[requestID]?.runtimeMovedOn = true }
        }
        let (requestID, event) = state.withLock(when: { !$0.queued.isEmpty }) { state in
            let invocation = state.queued.removeFirst()
            state.inFlight.insert(invocation.requestID)
            return invocation
        }
        let deadline = WallClock.millisecondsSinceEpoch() + functionTimeoutMilliseconds
        return .json(
            200, event,
            headers: [
                HTTPHeader(RuntimeAPI.Header.requestID, requestID),
                HTTPHeader(RuntimeAPI.Header.deadline, String(deadline)),
                HTTPHeader(RuntimeAPI.Header.invokedFunctionARN, functionARN),
            ])
    }

    /// `{id}/response` and `{id}/error`.
    private func complete(_ request: HTTPRequest, path: Substring) -> HTTPResponse {
        let encodedRequestID: Substring
        let outcome: Outcome
        var tooLarge = false
        if path.hasSuffix(RuntimeAPI.responsePathSuffix) {
            encodedRequestID = path.dropLast(RuntimeAPI.responsePathSuffix.count)
            // Lambda's behaviour: the invocation fails, the runtime is told 413 and goes on.
            tooLarge = request.body.count > Self.payloadLimit
            outcome = tooLarge ? .failure(Self.responseTooLarge(request.body.count)) : .success(request.body)
        } else if path.hasSuffix(RuntimeAPI.errorPathSuffix) {
            encodedRequestID = path.dropLast(RuntimeAPI.errorPathSuffix.count)
            outcome = .failure(Self.errorBody(request))
        } else {
            return Self.unknownEndpoint(request)
        }
        let requestID = RuntimeAPI.requestID(fromPathComponent: encodedRequestID)
        let known = state.withLock { state in
            guard let requestID, state.inFlight.remove(requestID) != nil else { return false }
            state.outcomes[requestID] = PostedOutcome(outcome: outcome)
            return true
        }
        guard known else {
            return .json(400, Array(#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#.utf8))
        }
        if tooLarge {
            return .json(413, Array(#"{"errorMessage":"Response payload too large","errorType":"RequestEntityTooLarge"}"#.utf8))
        }
        return .json(202, Array(#"{"status":"OK"}"#.utf8))
    }

    private static func responseTooLarge(_ size: Int) -> [UInt8] {
        FunctionError(
            type: "Function.ResponseSizeTooLarge",
            message: "Response payload size (\(size) bytes) exceeded maximum allowed payload size (\(payloadLimit) bytes)."
        ).jsonPayload
    }

    private static func unknownEndpoint(_ request: HTTPRequest) -> HTTPResponse {
        .json(404, FunctionError(type: "Runtime.UnknownEndpoint", message: "No such endpoint: \(request.method) \(request.path)").jsonPayload)
    }

    /// The error JSON as posted; an empty body is described from the type header instead.
    private static func errorBody(_ request: HTTPRequest) -> [UInt8] {
        guard request.body.isEmpty else { return request.body }
        let type = request.header(RuntimeAPI.Header.functionErrorType) ?? "Runtime.Unknown"
        return FunctionError(type: type, message: "The runtime reported \(type) without details").jsonPayload
    }
}
