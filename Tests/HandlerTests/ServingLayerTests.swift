import Foundation
import Testing

/// What other services see: keys read back with redis-py exactly as the serving layer reads them,
/// and the built functions run through the real runtime loop with `--event`.
@Suite(.serialized) final class ServingLayerTests {
    let harness: HandlerHarness

    init() throws {
        harness = try HandlerHarness()
    }

    private func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try ServingLayerReader.run(executable, arguments, environment: environment)
    }

    private func python3() throws -> String {
        try ServingLayerReader.python3()
    }

    private func jsonObject(_ text: String) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary
    }

    @Test func theServingLayerReadsBackExactlyWhatWasWritten() throws {
        _ = try harness.price("price-update.json")
        _ = try harness.price("price-update-numbers.json")
        _ = try harness.price("put-session-apigw.json")
        _ = try harness.signal("signal.json")
        _ = try harness.signal("alert-status.json")
        let script = """
            import json, sys, redis
            r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
            print(json.dumps({
                "price": r.hgetall("price:AAPL"),
                "numbers": r.hgetall("price:MSFT"),
                "signal": json.loads(r.get("signal:AAPL:momentum")),
                "alert": r.get("alert:status:a-123"),
                "session": r.hgetall("session:user-42"),
            }))
            """
        let result = try run(try python3(), ["python3", "-c", script, harness.server.host, String(harness.server.port)])
        #expect(result.status == 0)
        let expected = jsonObject(
            #"""
            {"price": {"close": "205.50", "open": "203.00", "high": "206.00", "low": "202.50", "volume": "1000000", "timestamp": "1697658000", "source": "speed_layer"},
             "numbers": {"close": "331.16", "open": "329.5", "high": "332.0", "low": "328.9", "volume": "2500000", "timestamp": "1697658000", "source": "batch_layer"},
             "signal": {"signal": "buy", "confidence": 0.85, "timestamp": "1697658000", "price": "205.50", "indicators": {"rsi": 45.2, "macd": "bullish"}},
             "alert": "triggered",
             "session": {"active_symbols": "AAPL,MSFT", "last_active": "1697658000", "websocket_connected": "true"}}
            """#)
        #expect(expected != nil)
        #expect(jsonObject(result.output) == expected, "\(result.output)")
    }

    @Test func theBuiltFunctionsRunEventsThroughTheRuntimeLoop() throws {
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let environment = ["REDIS_ENDPOINT": "\(harness.server.host):\(harness.server.port)", "REDIS_SSL": "false"]
        let events = HandlerHarness.eventsDirectory
        let batch = try run(
            binaries.appendingPathComponent("PriceCacheHandler").path,
            ["--event", events.appendingPathComponent("price-batch-kinesis-partial.json").path], environment: environment)
        #expect(batch.status == 0)
        let lines = batch.output.split(separator: "\n").map(String.init)
        let metricLine = try #require(
            lines.firstIndex { $0.hasPrefix(#"{"_aws":"#) && $0.contains(#""Namespace":"PriceCache""#) && $0.contains(#""RecordsWritten":1"#) },
            "\(batch.output)")
        // The line is written after the answer is posted; `--event` prints the result, and ends the
        // process, only once the loop has finished the invocation, so the line is always there, first.
        let result = try #require(lines.firstIndex { $0.hasPrefix(#"{"batchItemFailures":"#) }, "\(batch.output)")
        #expect(metricLine < result, "\(batch.output)")
        #expect(
            lines.contains(
                #"{"batchItemFailures":[{"itemIdentifier":"49590338271490256608559692540925702759324208523137515618"},{"itemIdentifier":"49590338271490256608559692541287502759324208523137515700"},{"itemIdentifier":"49590338271490256608559692541999999999324208523137515800"}]}"#
            ))
        let signal = try run(
            binaries.appendingPathComponent("SignalHandler").path,
            ["--event", events.appendingPathComponent("signal.json").path], environment: environment)
        #expect(signal.output.split(separator: "\n").contains(#"{"written":1,"stale":0}"#))
        let bad = try run(
            binaries.appendingPathComponent("PriceCacheHandler").path,
            ["--event", events.appendingPathComponent("invalid-symbol.json").path], environment: environment)
        #expect(bad.output.contains(#""errorType":"Function.InvalidEvent""#))
    }
}
