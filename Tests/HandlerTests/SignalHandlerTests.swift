import LambdaEvents
import Testing

@Suite(.serialized) final class SignalHandlerTests {
    let harness: HandlerHarness

    init() throws {
        harness = try HandlerHarness()
    }

    @Test func writesSignalsAndAlertsWithTheirTTLs() throws {
        #expect(try harness.signal("signal.json").answer?.jsonText == #"{"written":1,"stale":0}"#)
        #expect((3598...3600).contains(try harness.ttl("signal:AAPL:momentum")))
        #expect(try harness.signal("alert-status.json").answer?.jsonText == #"{"written":1,"stale":0}"#)
        #expect((86_398...86_400).contains(try harness.ttl("alert:status:a-123")))
        #expect(try harness.signal("signal-batch.json").answer?.jsonText == #"{"written":2,"stale":0,"failures":[]}"#)
        #expect((3598...3600).contains(try harness.ttl("signal:AAPL:mean_reversion")))
    }

    @Test func answersBatchesWithExactlyTheFailedRecords() throws {
        #expect(try harness.signal("signal-batch-kinesis.json").failedItems == ["49590338271490256608559692541287502759324208523137515700"])
        let metrics = harness.metrics.last
        #expect(metrics?["RecordsWritten"] == .number("2"))
        #expect(metrics?["StaleSkipped"] == .number("1"))
        #expect(metrics?["Invalid"] == .number("1"))
        #expect(try harness.client.command(.init("GET", "signal:AAPL:momentum")).stringValue?.contains(#""signal":"buy""#) == true)
        #expect(try harness.signal("signal-batch-sqs.json").failedItems == ["2e1424d4-f796-459a-8184-9c92662be6da"])
    }

    @Test func servesTheReadRoutes() throws {
        #expect(try harness.signal("get-signal-apigw.json").http?.status == 404)
        #expect(try harness.signal("get-alert-apigw.json").http?.status == 404)
        _ = try harness.signal("signal.json")
        _ = try harness.signal("alert-status.json")
        let signal = try harness.signal("get-signal-apigw.json").http
        #expect(signal?.status == 200)
        #expect(
            signal?.body.jsonText == #"{"signal":"buy","confidence":0.85,"timestamp":"1697658000","price":"205.50","indicators":{"rsi":45.2,"macd":"bullish"}}"#
        )
        #expect(try harness.signal("get-alert-apigw.json").http?.body.jsonText == #"{"alert_id":"a-123","status":"triggered"}"#)
        #expect(try harness.signal("get-price-apigw.json").http?.status == 404)
    }

    @Test(arguments: [
        ("invalid-signal.json", "signal: must be buy, sell or hold"),
        ("invalid-confidence.json", "confidence: must be a number from 0 to 1"),
        ("invalid-alert-status.json", "status: must be triggered, pending or disabled"),
        ("invalid-strategy-id.json", "strategy_id: may only contain"),
        ("price-update.json", "strategy_id: is required"),
        ("unknown-shape.json", "Unknown event shape: "),
    ])
    func refusesEveryBadEvent(_ file: String, _ messagePrefix: String) throws {
        let error = try harness.signal(file).error
        #expect(error?.errorType == "Function.InvalidEvent")
        #expect(error?.errorMessage.hasPrefix(messagePrefix) == true, "\(error?.errorMessage ?? "no error")")
        #expect(try harness.client.command(.init("DBSIZE")).integerValue == 0)
    }
}
