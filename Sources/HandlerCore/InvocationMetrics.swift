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

    public func line(functionName: String, requestID: String, timestampMilliseconds: Int64) -> EMFMetricLine {
        let milliseconds = Double(redisTime.components.seconds) * 1000 + Double(redisTime.components.attoseconds) / 1e15
        return EMFMetricLine(
            namespace: Self.namespace,
            dimensions: [("FunctionName", functionName)],
            metrics: [
                .init("RecordsWritten", unit: "Count", value: Double(recordsWritten)),
                .init("StaleSkipped", unit: "Count", value: Double(staleSkipped)),
                .init("Invalid", unit: "Count", value: Double(invalid)),
                .init("CacheHits", unit: "Count", value: Double(cacheHits)),
                .init("CacheMisses", unit: "Count", value: Double(cacheMisses)),
                .init("RedisErrors", unit: "Count", value: Double(redisErrors)),
                .init("RedisTime", unit: "Milliseconds", value: (milliseconds * 1000).rounded() / 1000),
                .init("RedisRetries", unit: "Count", value: Double(redisRetries)),
                .init("RedisReconnects", unit: "Count", value: Double(redisReconnects)),
                .init("AuthRefreshes", unit: "Count", value: Double(authRefreshes)),
            ],
            properties: [JSONMember("eventSource", .string(eventSource)), JSONMember("requestId", .string(requestID))],
            timestampMilliseconds: timestampMilliseconds
        )
    }
}

/// Where metric lines go: stdout on Lambda, a collector in tests.
public protocol MetricsSink: Sendable {
    func emit(_ line: EMFMetricLine)
}

/// Writes each line to stdout with one unbuffered write (the runtime's `StandardStreams`): the C
/// library's buffer would hold lines back while the process is frozen between invocations. The raw
/// EMF object must stand alone on its line (not wrapped in a JSON log record), or CloudWatch does
/// not extract the metrics. The write happens once the invocation's answer is posted
/// (`StandardStreams.emitAfterAnswer`): the caller no longer waits for it (about 3.6 us of a
/// direct update's latency, BENCHMARKS.md, issue 13), and the line still belongs to the invocation.
public struct StandardOutputMetricsSink: MetricsSink {
    public init() {}

    public func emit(_ line: EMFMetricLine) {
        StandardStreams.emitAfterAnswer(line.line, to: StandardStreams.output)
    }
}
