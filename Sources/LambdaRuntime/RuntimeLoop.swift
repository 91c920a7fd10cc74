#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The invocation loop: `/next`, the handler, `/response` or `/error`, again, until the Runtime
/// API's answers say the process must end.
struct RuntimeLoop<Handler: LambdaHandler, Client: RuntimeAPIClientProtocol> {
    /// Connection failures on `/next` are retried this many times, waiting a little longer each time,
    /// before the process gives up and lets Lambda start a fresh one.
    static var nextRetries: Int { 3 }
    static var firstRetryDelay: Duration { .milliseconds(100) }
    /// Used when `/next` has no usable deadline header: Lambda's longest timeout, so a handler's
    /// budget is never shorter than the real one.
    static var missingDeadlineAllowance: Int64 { 900_000 }

    let client: Client
    let handler: Handler
    let function: FunctionEnvironment
    let logger: LambdaLogger

    /// Returns only when the process must end, with its exit status.
    func run() -> Int32 {
        while true {
            let headers: InvocationHeaders, event: [UInt8]
            switch nextInvocation() {
            case .invocation(let nextHeaders, let nextEvent):
                (headers, event) = (nextHeaders, nextEvent)
            case .unreadable(let failure, let requestID):
                guard failUnreadable(failure, requestID: requestID) else { return 1 }
                continue
            case .end:
                return 1
            }
            guard let requestID = headers.requestID else {
                logger.error(RuntimeError.missingRequestID.logMessage)
                return 1
            }
            ProcessEnvironment.exportTraceID(headers.traceID)
            CrashTrace.setRequestID(requestID)
            defer { CrashTrace.setRequestID(nil) }
            let context = makeContext(requestID: requestID, headers: headers)
            let reply: RuntimeAPIReply
            let endpoint: String
            do {
                let output = try handler.handle(event, context: context)
                reply = client.postResponse(requestID: requestID, body: output)
                endpoint = "/response"
            } catch {
                context.logger.error("\(error.wireErrorType): \(error.errorMessage)")
                reply = client.postError(requestID: requestID, error: error)
                endpoint = "/error"
            }
            // What the handler held back for after its answer (its metric line), whatever the
            // post's outcome and before the loop may end. Still the invocation's own time: Lambda
            // counts an invocation done, and may freeze the process, only once the runtime asks for
            // the next one ("The runtime and each extension indicate completion by sending a Next
            // API request", docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
            // so the line reaches the invocation's log stream like one written before the post.
            StandardStreams.writeHeldOutput()
            guard proceed(after: reply, endpoint: endpoint, logger: context.logger) else { return 1 }
        }
    }

    /// Whether the loop goes on after a post's reply (anything worth saying is logged).
    private func proceed(after reply: RuntimeAPIReply, endpoint: String, logger: LambdaLogger) -> Bool {
        switch StatusPolicy.afterPost(reply, endpoint: endpoint) {
        case .proceed:
            return true
        case .logAndProceed(let failure), .retry(let failure), .failInvocation(let failure):
            logger.error(failure.logMessage)
            return true
        case .exit(let failure):
            logger.error(failure.logMessage)
            return false
        }
    }

    /// An invocation whose answer could not be read: fails it with the runtime's error when its
    /// request id arrived before the fault (Lambda would otherwise wait for its timeout), and goes on.
    private func failUnreadable(_ failure: RuntimeError, requestID: String?) -> Bool {
        guard let requestID else {
            logger.error("\(failure.logMessage); its request id did not arrive, so Lambda fails it at its timeout")
            return true
        }
        let requestLogger = logger.forRequest(requestID)
        requestLogger.error(failure.logMessage)
        let error = FunctionError(type: failure.errorType, message: failure.message)
        return proceed(after: client.postError(requestID: requestID, error: error), endpoint: "/error", logger: requestLogger)
    }

    private enum NextInvocation {
        case invocation(InvocationHeaders, [UInt8])
        /// An invocation that cannot be run; its request id when it arrived.
        case unreadable(RuntimeError, requestID: String?)
        /// The process must end (already logged).
        case end
    }

    /// `/next`, retried on connection failures.
    private func nextInvocation() -> NextInvocation {
        var delay = Self.firstRetryDelay
        var retriesLeft = Self.nextRetries
        while true {
            let (reply, headers, event) = client.nextInvocation()
            switch StatusPolicy.afterNext(reply) {
            case .proceed:
                return .invocation(headers, event)
            case .failInvocation(let failure):
                return .unreadable(failure, requestID: headers.requestID)
            case .retry(let failure) where retriesLeft > 0:
                logger.warn("\(failure.logMessage); retrying in \(delay)")
                sleep(for: delay)
                retriesLeft -= 1
                delay *= 2
            case .retry(let failure), .exit(let failure), .logAndProceed(let failure):
                logger.error(failure.logMessage)
                return .end
            }
        }
    }

    private func makeContext(requestID: String, headers: InvocationHeaders) -> LambdaContext {
        let deadline =
            headers.deadlineMillisecondsSinceEpoch
            ?? WallClock.millisecondsSinceEpoch() + Self.missingDeadlineAllowance
        return LambdaContext(
            requestID: requestID,
            deadline: LambdaDeadline(millisecondsSinceEpoch: deadline),
            invokedFunctionARN: headers.invokedFunctionARN ?? "",
            traceID: headers.traceID,
            clientContext: headers.clientContext,
            cognitoIdentity: headers.cognitoIdentity,
            tenantID: headers.tenantID,
            function: function,
            logger: logger.forRequest(requestID)
        )
    }

    private func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}

extension RuntimeLoop where Client == RuntimeAPIClient {
    /// Cold start then the loop over libcurl: the client (no I/O yet), then as `start(client:...)`.
    static func start(address: String, logger: LambdaLogger, initialize: () throws(FunctionError) -> Handler) -> Int32 {
        let client: RuntimeAPIClient
        do {
            client = try RuntimeAPIClient(address: address)
        } catch {
            logger.fatal(error.logMessage)
            return 1
        }
        return start(client: client, logger: logger, initialize: initialize)
    }
}

extension RuntimeLoop {
    /// The handler's one-time initialisation (its failure goes to `/runtime/init/error` and ends
    /// the process), then invocations.
    static func start(client: Client, logger: LambdaLogger, initialize: () throws(FunctionError) -> Handler) -> Int32 {
        let handler: Handler
        do {
            handler = try initialize()
        } catch {
            logger.fatal("\(error.wireErrorType): \(error.errorMessage)")
            switch StatusPolicy.afterPost(client.postInitError(error), endpoint: "/init/error") {
            case .proceed: break
            case .retry(let failure), .logAndProceed(let failure), .exit(let failure), .failInvocation(let failure):
                logger.error(failure.logMessage)
            }
            return 1
        }
        let function = FunctionEnvironment(environment: ProcessEnvironment.value)
        return RuntimeLoop(client: client, handler: handler, function: function, logger: logger).run()
    }
}
