import Foundation
import LambdaRuntime
import Synchronization

/// A scriptable Lambda Runtime API on a free loopback port, for tests: `/next` answers the scripted
/// invocations in order (each may be delayed, carry any headers, or be a bare status), `/response`
/// and `/error` answer the status scripted for their invocation, and every request is recorded.
public final class RuntimeAPIServer: Sendable {
    public struct Invocation: Sendable {
        /// The status of the `/next` answer; 200 carries the event.
        public var status: Int
        public var headers: [HTTPHeader]
        public var body: [UInt8]
        /// How long `/next` waits before answering.
        public var delay: Duration
        /// What `/response` or `/error` for this invocation answers.
        public var completionStatus: Int

        public init(status: Int = 200, headers: [HTTPHeader] = [], body: [UInt8] = [], delay: Duration = .zero, completionStatus: Int = 202) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.completionStatus = completionStatus
        }

        /// A well-formed invocation: request id, a deadline `timeout` from now, an ARN, and the
        /// trace id when given.
        public static func event(
            _ body: [UInt8], requestID: String = UUID().uuidString.lowercased(), timeout: Duration = .seconds(30),
            traceID: String? = nil, extraHeaders: [HTTPHeader] = [], delay: Duration = .zero, completionStatus: Int = 202
        ) -> Invocation {
            let deadline = Int64(Date().timeIntervalSince1970 * 1000) + Int64(timeout.components.seconds * 1000)
            var headers = [
                HTTPHeader("Lambda-Runtime-Aws-Request-Id", requestID),
                HTTPHeader("Lambda-Runtime-Deadline-Ms", String(deadline)),
                HTTPHeader("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:test"),
            ]
            if let traceID { headers.append(HTTPHeader("Lambda-Runtime-Trace-Id", traceID)) }
            return Invocation(headers: headers + extraHeaders, body: body, delay: delay, completionStatus: completionStatus)
        }

        public static func event(_ text: String, requestID: String = UUID().uuidString.lowercased(), traceID: String? = nil, completionStatus: Int = 202)
            -> Invocation
        {
            event(Array(text.utf8), requestID: requestID, traceID: traceID, completionStatus: completionStatus)
        }

        public var requestID: String? {
            headers.first { $0.name.lowercased() == "lambda-runtime-aws-request-id" }?.value
        }
    }

    private let script: Script
    private let server: LoopbackHTTPServer

    /// `statusWhenScriptEnds`: what `/next` answers once the script is used up (403 makes the
    /// runtime exit, which ends a test's loop).
    public init(script invocations: [Invocation], statusWhenScriptEnds: Int = 403, initErrorStatus: Int = 202) throws {
        let script = Script(invocations, statusWhenScriptEnds: statusWhenScriptEnds, initErrorStatus: initErrorStatus)
        self.script = script
        self.server = try LoopbackHTTPServer(maximumBodySize: 64 * 1024 * 1024) { script.respond(to: $0) }
    }

    /// `host:port`, the value for `AWS_LAMBDA_RUNTIME_API`.
    public var address: String { server.address }

    public var requests: [HTTPRequest] { script.recorded.withLock { $0 } }

    /// Connections the runtime opened (1 for a runtime that keeps its connection alive).
    public var connectionCount: Int { server.acceptedConnections }

    /// The recorded requests whose path ends with `suffix`.
    public func requests(endingWith suffix: String) -> [HTTPRequest] {
        requests.filter { $0.path.hasSuffix(suffix) }
    }

    public func stop() {
        server.stop()
    }
}

private final class Script: Sendable {
    let remaining: Mutex<[RuntimeAPIServer.Invocation]>
    let recorded = Mutex<[HTTPRequest]>([])
    let completionStatuses = Mutex<[String: Int]>([:])
    let statusWhenScriptEnds: Int
    let initErrorStatus: Int

    init(_ invocations: [RuntimeAPIServer.Invocation], statusWhenScriptEnds: Int, initErrorStatus: Int) {
        remaining = Mutex(invocations)
        self.statusWhenScriptEnds = statusWhenScriptEnds
        self.initErrorStatus = initErrorStatus
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        recorded.withLock { $0.append(request) }
        let path = String(request.path)
        if request.method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            let next = remaining.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            guard let next else { return HTTPResponse(status: statusWhenScriptEnds) }
            if let requestID = next.requestID {
                completionStatuses.withLock { $0[requestID] = next.completionStatus }
            }
            if next.delay > .zero {
                let (seconds, attoseconds) = next.delay.components
                Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
            }
            return HTTPResponse(status: next.status, headers: next.headers, body: next.body)
        }
        if request.method == "POST" && path == "/2018-06-01/runtime/init/error" {
            return HTTPResponse(status: initErrorStatus)
        }
        let parts = path.split(separator: "/")
        if request.method == "POST", parts.count == 5, parts[0] == "2018-06-01", parts[2] == "invocation",
            parts[4] == "response" || parts[4] == "error"
        {
            let requestID = String(parts[3]).removingPercentEncoding ?? String(parts[3])
            return HTTPResponse(status: completionStatuses.withLock { $0[requestID] } ?? 400)
        }
        return HTTPResponse(status: 404)
    }
}
