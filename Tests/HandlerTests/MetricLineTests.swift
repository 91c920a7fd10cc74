@testable import HandlerCore
import LambdaEvents
import Testing

/// The metric line stdout gets is written from a layout made once (`InvocationMetrics.lineBytes`);
/// it must stay byte for byte the line of the same metrics as an `EMFMetricLine`, escapes, fractions
/// and all.
@Suite struct MetricLineTests {
    @Test(arguments: [
        MetricLabels(functionName: "PriceCacheHandler", requestID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd", timestampMilliseconds: 1_697_658_000_123),
        MetricLabels(functionName: "odd \"name\"\\\n\u{1}é", requestID: "id\twith\"quotes", timestampMilliseconds: 0),
        MetricLabels(functionName: "", requestID: "", timestampMilliseconds: 7),
    ])
    func theLayoutWritesTheSameLineAsTheFullWriter(_ labels: MetricLabels) {
        var metrics = InvocationMetrics()
        metrics.eventSource = "aws:kinesis"
        metrics.recordsWritten = 97
        metrics.staleSkipped = 2
        metrics.invalid = 1
        metrics.cacheHits = 12_345_678_901
        metrics.redisErrors = 3
        metrics.redisTime = .microseconds(1_234_567)
        metrics.redisRetries = 4
        metrics.authRefreshes = 1
        let full = metrics.line(labels)
        #expect(metrics.lineBytes(labels) == full.line)
        #expect(String(decoding: metrics.lineBytes(labels), as: UTF8.self) == full.json.jsonText + "\n")
        #expect(InvocationMetrics().lineBytes(labels) == InvocationMetrics().line(labels).line)
    }
}
