import Foundation
import HandlerCore
import LambdaEvents
import LambdaRuntime
import PriceCache
import RedisPool
import TestSupport
@testable import PriceCacheHandler
@testable import SignalHandler

/// Collects the metric lines a handler writes, instead of printing them.
final class MetricsCollector: MetricsSink, @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [[UInt8]] = []

    func emit(_ metrics: InvocationMetrics, _ labels: MetricLabels) {
        // The line as stdout gets it, parsed back: what CloudWatch reads.
        let line = metrics.lineBytes(labels)
        lock.withLock { collected.append(line) }
    }

    var last: JSONValue? { lock.withLock { collected.last.flatMap { try? JSONParser.parse($0) } } }
}

/// Both functions over one real redis-server, invoked in process with the files of `events/`.
final class HandlerHarness {
    static let eventsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("events")

    let server: RedisServer
    let client: RedisClient
    let metrics = MetricsCollector()
    let prices: CacheEventHandler<PriceFunction>
    let signals: CacheEventHandler<SignalFunction>

    /// `functionsUser`: the functions connect as this ACL user instead of the default user (the
    /// harness's own `client` stays the default user, for reading back).
    init(serverOptions: RedisServer.Options = RedisServer.Options(), functionsUser: RedisServer.User? = nil) throws {
        let server = try RedisServer.start(serverOptions)
        self.server = server
        client = try RedisClient(configuration: RedisConfiguration(endpoint: server.host, port: server.port, useTLS: false, timeout: .seconds(1)))
        let functionsClient =
            try functionsUser.map { user in
                try RedisClient(
                    configuration: RedisConfiguration(
                        endpoint: server.host, port: server.port, useTLS: false, username: user.name, authToken: user.password, timeout: .seconds(1),
                        // Every borrow probes with PING, so the idle-connection probe runs under the ACL too.
                        pingAfterIdle: .zero))
            } ?? client
        let store = CacheStore(client: functionsClient)
        prices = CacheEventHandler(
            localName: "PriceCacheHandler", function: PriceFunction(store: store, now: { EpochSeconds(seconds: 1_697_658_000) }), store: store,
            metricsSink: metrics)
        signals = CacheEventHandler(localName: "SignalHandler", function: SignalFunction(store: store), store: store, metricsSink: metrics)
    }

    deinit {
        server.stop()
    }

    static func event(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: eventsDirectory.appendingPathComponent(name)))
    }

    static var context: LambdaContext {
        LambdaContext(
            requestID: "request-1",
            deadline: LambdaDeadline(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000) + 10_000),
            invokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:test",
            function: FunctionEnvironment(name: "", version: "$LATEST", memorySizeMB: 128, logGroup: "", logStream: "", region: "us-east-1"),
            logger: LambdaLogger(minimumLevel: .fatal)
        )
    }

    func invoke<Function>(_ handler: CacheEventHandler<Function>, bytes: [UInt8]) -> Result<JSONValue, FunctionError> {
        Result { () throws(FunctionError) in
            let answer = try handler.handle(bytes, context: Self.context)
            return (try? JSONParser.parse(answer)) ?? .string("unparsable answer")
        }
    }

    func price(_ file: String) throws -> Result<JSONValue, FunctionError> {
        invoke(prices, bytes: try Self.event(file))
    }

    func signal(_ file: String) throws -> Result<JSONValue, FunctionError> {
        invoke(signals, bytes: try Self.event(file))
    }

    func ttl(_ key: String) throws -> Int64 {
        try client.command(RedisCommand("TTL", key)).integerValue ?? -3
    }
}

extension Result where Success == JSONValue, Failure == FunctionError {
    var answer: JSONValue? { try? get() }

    var error: FunctionError? {
        if case .failure(let error) = self { return error }
        return nil
    }

    /// An API Gateway answer's status code and parsed body.
    var http: (status: Int, body: JSONValue)? {
        guard let answer, let status = answer["statusCode"]?.numberLiteral.flatMap({ Int($0) }),
            let body = answer["body"]?.stringValue, let json = try? JSONParser.parse(Array(body.utf8))
        else { return nil }
        return (status, json)
    }

    var failedItems: [String]? {
        answer?["batchItemFailures"]?.arrayValue?.compactMap { $0["itemIdentifier"]?.stringValue }
    }
}
