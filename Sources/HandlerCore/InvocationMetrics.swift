import LambdaEvents
import LambdaRuntime
import RedisPool

/// What one invocation did, written at its end as one CloudWatch EMF line in namespace `PriceCache`.
public struct InvocationMetrics: Sendable, Equatable {
    public static let namespace = "PriceCache"

    public var eventSource = "unknown"
    public var recordsWritten = 0
    public var staleSkipped = 0
    public var invalid = 0
    public var cacheHits = 0
    public var cacheMisses = 0
    /// Round trips that failed (connection lost, refused command, timeout).
    public var redisErrors = 0
    public var redisTime: Duration = .zero
    /// Requests the Redis client tried again (any reason: connect, lost reply, busy, READONLY, credentials).
    public var redisRetries = 0
    /// Connections opened to replace dropped ones (a failover, a restart, a dead connection).
    public var redisReconnects = 0
    /// Times the credentials were read again from the secret after the server refused them.
    public var authRefreshes = 0

    public init() {}

    /// Times one Redis round trip and counts its failure; the result passes through.
    public mutating func timingRedis<T>(_ body: () throws(RedisError) -> T) throws(RedisError) -> T {
        let start = ContinuousClock.now
        defer { redisTime += ContinuousClock.now - start }
        do {
            return try body()
        } catch {
            redisErrors += 1
            throw error
        }
    }

    /// The metrics in the line's order, with their units; `values` follows the same order.
    static let definitions: [(name: String, unit: String)] = [
        ("RecordsWritten", "Count"), ("StaleSkipped", "Count"), ("Invalid", "Count"), ("CacheHits", "Count"),
        ("CacheMisses", "Count"), ("RedisErrors", "Count"), ("RedisTime", "Milliseconds"), ("RedisRetries", "Count"),
        ("RedisReconnects", "Count"), ("AuthRefreshes", "Count"),
    ]
    static let dimensionName = "FunctionName"
    static let propertyNames = ["eventSource", "requestId"]
    /// Every line of the process has this layout: only its values are written per invocation.
    static let layout = EMFMetricLine.Layout(
        namespace: namespace, dimensionNames: [dimensionName], metrics: definitions, propertyNames: propertyNames)

    /// The metrics' values, in `definitions`' order.
    var values: [Double] {
        let milliseconds = Double(redisTime.components.seconds) * 1000 + Double(redisTime.components.attoseconds) / 1e15
        return [
            Double(recordsWritten), Double(staleSkipped), Double(invalid), Double(cacheHits), Double(cacheMisses),
            Double(redisErrors), (milliseconds * 1000).rounded() / 1000, Double(redisRetries), Double(redisReconnects),
            Double(authRefreshes),
        ]
    }

    /// The invocation's metric line, written from `layout`.
    public func lineBytes(_ labels: MetricLabels) -> [UInt8] {
        Self.layout.line(
            timestampMilliseconds: labels.timestampMilliseconds, dimensionValues: [labels.functionName], metricValues: values,
            propertyValues: [.string(eventSource), .string(labels.requestID)])
    }
}

/// What names one invocation's metrics in its line.
public struct MetricLabels: Sendable, Equatable {
    public var functionName: String
    public var requestID: String
    public var timestampMilliseconds: Int64

    public init(functionName: String, requestID: String, timestampMilliseconds: Int64) {
        self.functionName = functionName
        self.requestID = requestID
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// Where each invocation's metrics go: a line on stdout on Lambda, a collector in tests.
public protocol MetricsSink: Sendable {
    func emit(_ metrics: InvocationMetrics, _ labels: MetricLabels)
}

/// Writes each line to stdout with one unbuffered write (the runtime's `StandardStreams`): the C
/// library's buffer would hold lines back while the process is frozen between invocations. The raw
/// EMF object must stand alone on its line (not wrapped in a JSON log record), or CloudWatch does
/// not extract the metrics. The write happens once the invocation's answer is posted
/// (`StandardStreams.emitAfterAnswer`): the caller no longer waits for it (BENCHMARKS.md, issue 13,
/// second pass), and the line still belongs to the invocation.
public struct StandardOutputMetricsSink: MetricsSink {
    public init() {}

    public func emit(_ metrics: InvocationMetrics, _ labels: MetricLabels) {
        StandardStreams.emitAfterAnswer(metrics.lineBytes(labels), to: StandardStreams.output)
    }
}
