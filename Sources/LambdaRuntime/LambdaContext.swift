/// When Lambda stops the invocation, as sent in `Lambda-Runtime-Deadline-Ms`.
public struct LambdaDeadline: Sendable, Hashable, Comparable {
    public let millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// Time left until the deadline against the wall clock; negative once it has passed.
    public var remainingTime: Duration {
        // Duration is 128-bit: neither conversion can overflow, whatever the header said.
        .milliseconds(millisecondsSinceEpoch) - .nanoseconds(WallClock.nanosecondsSinceEpoch())
    }

    /// The deadline on the monotonic clock, `margin` earlier: the form I/O timeouts take
    /// (`RedisClient`'s `deadline:`), leaving the runtime time to post the answer.
    public func instant(leaving margin: Duration = .zero) -> ContinuousClock.Instant {
        .now + remainingTime - margin
    }

    public static func < (lhs: LambdaDeadline, rhs: LambdaDeadline) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }
}

/// What the function knows about itself from Lambda's reserved environment variables.
public struct FunctionEnvironment: Sendable, Hashable {
    public let name: String
    public let version: String
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; nil when absent or not a number.
    public let memorySizeMB: Int?
    public let logGroup: String
    public let logStream: String
    public let region: String

    public init(name: String, version: String, memorySizeMB: Int?, logGroup: String, logStream: String, region: String) {
        self.name = name
        self.version = version
        self.memorySizeMB = memorySizeMB
        self.logGroup = logGroup
        self.logStream = logStream
        self.region = region
    }

    /// Reads the variables once (at cold start); a missing one becomes "" rather than a failure, as
    /// outside Lambda (tests, `--event`) most are absent.
    public init(environment: (String) -> String?) {
        self.init(
            name: environment("AWS_LAMBDA_FUNCTION_NAME") ?? "",
            version: environment("AWS_LAMBDA_FUNCTION_VERSION") ?? "",
            memorySizeMB: environment("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").flatMap { Int($0) },
            logGroup: environment("AWS_LAMBDA_LOG_GROUP_NAME") ?? "",
            logStream: environment("AWS_LAMBDA_LOG_STREAM_NAME") ?? "",
            region: environment("AWS_REGION") ?? ""
        )
    }
}

/// Everything a handler learns about one invocation.
public struct LambdaContext: Sendable {
    public let requestID: String
    public let deadline: LambdaDeadline
    public let invokedFunctionARN: String
    /// `Lambda-Runtime-Trace-Id`; also exported as `_X_AMZN_TRACE_ID` during the invocation.
    public let traceID: String?
    /// `Lambda-Runtime-Client-Context` (JSON, mobile SDK invocations only), as received.
    public let clientContext: String?
    /// `Lambda-Runtime-Cognito-Identity` (JSON), as received.
    public let cognitoIdentity: String?
    /// `Lambda-Runtime-Aws-Tenant-Id`, for functions with tenant isolation.
    public let tenantID: String?
    public let function: FunctionEnvironment
    /// Carries the request id into every line it writes.
    public let logger: LambdaLogger

    /// Time left before Lambda stops the invocation: derive I/O budgets from it.
    public var remainingTime: Duration { deadline.remainingTime }

    public init(
        requestID: String,
        deadline: LambdaDeadline,
        invokedFunctionARN: String,
        traceID: String? = nil,
        clientContext: String? = nil,
        cognitoIdentity: String? = nil,
        tenantID: String? = nil,
        function: FunctionEnvironment,
        logger: LambdaLogger
    ) {
        self.requestID = requestID
        self.deadline = deadline
        self.invokedFunctionARN = invokedFunctionARN
        self.traceID = traceID
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.tenantID = tenantID
        self.function = function
        self.logger = logger
    }
}
