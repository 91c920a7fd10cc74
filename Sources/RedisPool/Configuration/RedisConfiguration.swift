/// Where and how to connect. Built once at cold start, from the environment in production.
///
/// `description`, `debugDescription` and the reflection mirror redact the AUTH token, so printing
/// a configuration (or a test failing on one) never shows it.
public struct RedisConfiguration: Sendable, Equatable {
    /// A host name or an IP literal; resolved again for every new connection (failover moves it).
    public var endpoint: String
    public var port: Int
    public var useTLS: Bool
    /// PEM bundle of trusted CAs; nil means the first system bundle that exists.
    public var tlsCAFile: String?
    /// The name sent in SNI and checked in the certificate; nil means `endpoint`.
    public var tlsServerName: String?
    public var username: String
    public var authToken: String?
    /// Ceiling for a connect (DNS + TCP + TLS + handshake) and for each command.
    public var timeout: Duration
    public var poolMaximum: Int
    /// How long a borrower waits for a busy pool before `poolExhausted`; nil means `timeout`.
    public var poolWaitTimeout: Duration?
    /// A pooled connection idle for longer answers a `PING` before it is lent again.
    public var pingAfterIdle: Duration
    /// Shown by `CLIENT LIST`: which program holds a connection.
    public var clientName: String
    /// The budget of one reply (`RESPParser.Limits`); a reply above it is a protocol error and
    /// its connection is closed.
    public var maximumReplyBytes: Int
    public var maximumReplyElements: Int
    /// Whether `endpoint` is a cluster's configuration endpoint (`RedisDeploymentClient` reads
    /// it; a `RedisClient` always talks to the one endpoint).
    public var clusterMode: ClusterMode = .auto

    public init(
        endpoint: String,
        port: Int = 6379,
        useTLS: Bool = true,
        tlsCAFile: String? = nil,
        tlsServerName: String? = nil,
        username: String = "default",
        authToken: String? = nil,
        timeout: Duration = .milliseconds(5000),
        poolMaximum: Int = 10,
        poolWaitTimeout: Duration? = nil,
        pingAfterIdle: Duration = .seconds(30),
        clientName: String = "redis-pool",
        maximumReplyBytes: Int = RESPParser.Limits.defaultMaximumReplyBytes,
        maximumReplyElements: Int = RESPParser.Limits.defaultMaximumReplyElements
    ) {
        self.endpoint = endpoint
        self.port = port
        self.useTLS = useTLS
        self.tlsCAFile = tlsCAFile
        self.tlsServerName = tlsServerName
        self.username = username
        self.authToken = authToken
        self.timeout = timeout
        self.poolMaximum = poolMaximum
        self.poolWaitTimeout = poolWaitTimeout
        self.pingAfterIdle = pingAfterIdle
        self.clientName = clientName
        self.maximumReplyBytes = maximumReplyBytes
        self.maximumReplyElements = maximumReplyElements
    }

    var effectivePoolWaitTimeout: Duration { poolWaitTimeout ?? timeout }
    var serverName: String { tlsServerName ?? endpoint }
    var replyLimits: RESPParser.Limits {
        RESPParser.Limits(maximumReplyBytes: maximumReplyBytes, maximumReplyElements: maximumReplyElements)
    }
}

extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "RedisConfiguration(\(useTLS ? "rediss" : "redis")://\(username)@\(endpoint):\(port), token: \(authToken == nil ? "none" : "<redacted>"), timeout: \(timeout), poolMaximum: \(poolMaximum))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }
}
