import LambdaEvents
import LambdaRuntime
import PriceCache
import RedisPool

/// The Lambda handler both cache functions run: reads the event, recognises its shape (a direct
/// invoke, a Kinesis or SQS batch, an API Gateway HTTP API request), lets the function do its
/// part and writes one metric line per invocation, whatever the outcome.
public struct CacheEventHandler<Function: CacheFunction>: LambdaHandler {
    /// Lambda's own limit for a synchronous event; a larger one can only come from a local file
    /// or a misbehaving caller and is refused before any parsing work.
    public static var maximumEventBytes: Int { 6 * 1024 * 1024 }
    /// Time kept back from the invocation's deadline for encoding the answer and posting it.
    static var answerMargin: Duration { .milliseconds(100) }

    /// The metric dimension when `AWS_LAMBDA_FUNCTION_NAME` is unset (local runs, tests).
    let localName: String
    let function: Function
    let store: CacheStore
    let metricsSink: any MetricsSink
    /// The Redis client's recoveries, drained into each invocation's metrics and log.
    let recoveryLog: RedisRecoveryLog?

    public init(
        localName: String, function: Function, store: CacheStore, metricsSink: any MetricsSink = StandardOutputMetricsSink(),
        recoveryLog: RedisRecoveryLog? = nil
    ) {
        self.localName = localName
        self.function = function
        self.store = store
        self.metricsSink = metricsSink
        self.recoveryLog = recoveryLog
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8] {
        var metrics = InvocationMetrics()
        defer {
            if let recoveries = recoveryLog?.drain() {
                metrics.redisRetries = recoveries.retries
                metrics.redisReconnects = recoveries.reconnects
                metrics.authRefreshes = recoveries.authRefreshes
                for line in recoveries.lines {
                    context.logger.warn(line)
                }
            }
            metricsSink.emit(
                metrics,
                MetricLabels(
                    functionName: context.function.name.isEmpty ? localName : context.function.name,
                    requestID: context.requestID,
                    timestampMilliseconds: WallClock.millisecondsSinceEpoch()
                ))
        }
        let deadline = context.deadline.instant(leaving: Self.answerMargin)
        return try answer(event, deadline: deadline, logger: context.logger, metrics: &metrics).jsonBytes
    }

    func answer(_ event: [UInt8], deadline: ContinuousClock.Instant, logger: LambdaLogger, metrics: inout InvocationMetrics) throws(FunctionError) -> JSONValue
    {
        guard event.count <= Self.maximumEventBytes else {
            metrics.invalid += 1
            throw .invalidEvent("The event is \(event.count) bytes; the limit is \(Self.maximumEventBytes) bytes (6 MB).")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(event, keeping: RecordBatch.eventSelection)
        } catch {
            metrics.invalid += 1
            throw .invalidEvent("The event is not valid JSON: \(error)")
        }
        let writer = BatchWriter(function: function, store: store, deadline: deadline, logger: logger)
        if RecordBatch.matches(json) {
            let batch: RecordBatch
            do {
                batch = try RecordBatch(event: json)
            } catch {
                metrics.invalid += 1
                throw .invalidEvent("Invalid record batch: \(error)")
            }
            metrics.eventSource = batch.source.rawValue
            return try writer.answer(batch, metrics: &metrics).json
        }
        if HTTPAPIRequest.matches(json) {
            metrics.eventSource = "apigateway"
            return HTTPDispatcher(function: function, deadline: deadline, logger: logger).answer(json, metrics: &metrics).json
        }
        metrics.eventSource = "direct"
        if let items = json[function.batchMember] {
            return try writer.answerDirectBatch(items, metrics: &metrics)
        }
        if function.isPayload(json) {
            return try writer.answerDirectPayload(json, metrics: &metrics)
        }
        metrics.invalid += 1
        throw .invalidEvent(
            "Unknown event shape: expected \(function.directShapes), an aws:kinesis or aws:sqs event, or an API Gateway HTTP API (payload 2.0) request.")
    }
}
