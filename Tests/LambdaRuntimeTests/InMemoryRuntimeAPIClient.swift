import Foundation
@testable import LambdaRuntime

/// The Runtime API kept in memory, for the loop tests whose point is the loop's decisions rather
/// than the wire (that is `RuntimeLoopTests`, over libcurl): `/next` answers come from a script,
/// then 403 (which ends the loop, as `RuntimeAPIServer` does); posts are answered by `postReply`;
/// every call is recorded in order.
// @unchecked: `recorded` and `script` are only touched with `lock` held. NSLock rather than
// Synchronization.Mutex, whose futex path ThreadSanitizer cannot follow on Linux.
final class InMemoryRuntimeAPIClient: RuntimeAPIClientProtocol, @unchecked Sendable {
    enum Call: Equatable {
        case next
        case response(requestID: String, body: String)
        case error(requestID: String, FunctionError)
        case initError(FunctionError)
    }

    /// One answer to `/next`.
    struct Next {
        let reply: RuntimeAPIReply
        let headers: InvocationHeaders
        let event: [UInt8]

        /// An invocation as Lambda sends it; a nil field is a header Lambda left out.
        static func event(
            _ event: String, requestID: String?, deadline: Int64? = 4_102_444_800_000, traceID: String? = nil,
            invokedFunctionARN: String? = "arn:aws:lambda:eu-west-1:123456789012:function:test",
            clientContext: String? = nil, cognitoIdentity: String? = nil, tenantID: String? = nil
        ) -> Next {
            var headers = InvocationHeaders()
            headers.requestID = requestID
            headers.deadlineMillisecondsSinceEpoch = deadline
            headers.invokedFunctionARN = invokedFunctionARN
            headers.traceID = traceID
            headers.clientContext = clientContext
            headers.cognitoIdentity = cognitoIdentity
            headers.tenantID = tenantID
            return Next(reply: .status(200), headers: headers, event: Array(event.utf8))
        }

        /// An answer that carries no invocation to run: a status, a broken connection, an unreadable
        /// head (with the request id read before the fault, if any).
        static func failure(_ reply: RuntimeAPIReply, requestID: String? = nil) -> Next {
            var headers = InvocationHeaders()
            headers.requestID = requestID
            return Next(reply: reply, headers: headers, event: [])
        }
    }

    private let lock = NSLock()
    private var script: ArraySlice<Next>
    private var recorded: [Call] = []
    private let postReply: @Sendable (Call) -> RuntimeAPIReply

    init(_ script: [Next], postReply: @escaping @Sendable (Call) -> RuntimeAPIReply = { _ in .status(202) }) {
        self.script = script[...]
        self.postReply = postReply
    }

    /// Every call the loop made, in order.
    var calls: [Call] { lock.withLock { recorded } }

    func nextInvocation() -> (reply: RuntimeAPIReply, headers: InvocationHeaders, event: [UInt8]) {
        let next = lock.withLock {
            recorded.append(.next)
            return script.popFirst() ?? .failure(.status(403))
        }
        return (next.reply, next.headers, next.event)
    }

    func postResponse(requestID: String, body: [UInt8]) -> RuntimeAPIReply {
        record(.response(requestID: requestID, body: String(decoding: body, as: UTF8.self)))
    }

    func postError(requestID: String, error: FunctionError) -> RuntimeAPIReply {
        record(.error(requestID: requestID, error))
    }

    func postInitError(_ error: FunctionError) -> RuntimeAPIReply {
        record(.initError(error))
    }

    private func record(_ call: Call) -> RuntimeAPIReply {
        lock.withLock { recorded.append(call) }
        return postReply(call)
    }
}
