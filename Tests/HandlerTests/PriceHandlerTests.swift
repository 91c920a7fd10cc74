import LambdaEvents
import LambdaRuntime
import RedisPool
import Testing
@testable import HandlerCore

@Suite(.serialized) final class PriceHandlerTests {
    let harness: HandlerHarness

    init() throws {
        harness = try HandlerHarness()
    }

    private let s2 = "49590338271490256608559692540925702759324208523137515618"
    private let s3 = "49590338271490256608559692541287502759324208523137515700"
    private let s4 = "49590338271490256608559692541999999999324208523137515800"

    @Test func writesADirectUpdateWithItsTTL() throws {
        #expect(try harness.price("price-update.json").answer?.jsonText == #"{"written":1,"stale":0}"#)
        #expect((298...300).contains(try harness.ttl("price:AAPL")))
        #expect(try harness.price("price-update-numbers.json").answer?.jsonText == #"{"written":1,"stale":0}"#)
        #expect((298...300).contains(try harness.ttl("price:MSFT")))
    }

    @Test func writesADirectBatchAndReportsItsInvalidItems() throws {
        #expect(try harness.price("price-batch.json").answer?.jsonText == #"{"written":3,"stale":0,"failures":[]}"#)
        let partial = try harness.price("price-batch-partial.json").answer
        #expect(partial?["written"] == .number("1"))
        #expect(
            partial?["failures"]?.arrayValue?.compactMap { $0["error"]?.stringValue } == [
                #"prices[1].symbol: may only contain A-Z a-z 0-9 . - ^ = _; "BAD SYMBOL" contains a space"#,
                #"prices[2].close: must be a non-negative decimal such as "205.50", got -1"#,
            ])
    }

    @Test func answersKinesisBatchesWithExactlyTheFailedRecords() throws {
        #expect(try harness.price("price-batch-kinesis.json").failedItems == [])
        #expect(try harness.price("price-batch-kinesis-partial.json").failedItems == [s2, s3, s4])
        let metrics = harness.metrics.last
        #expect(metrics?["RecordsWritten"] == .number("1"))
        #expect(metrics?["Invalid"] == .number("3"))
        #expect(metrics?["eventSource"] == .string("aws:kinesis"))
        #expect(metrics?["FunctionName"] == .string("PriceCacheHandler"))
    }

    @Test func reorderedUpdatesKeepTheLatest() throws {
        #expect(try harness.price("price-batch-kinesis-reordered.json").failedItems == [])
        #expect(harness.metrics.last?["StaleSkipped"] == .number("1"))
        #expect(try harness.client.command(.init("HGET", "price:AAPL", "close")).stringValue == "205.50")
        #expect((298...300).contains(try harness.ttl("price:AAPL")))
    }

    @Test func answersSQSBatchesWithExactlyTheFailedMessages() throws {
        #expect(try harness.price("price-batch-sqs.json").failedItems == [])
        #expect(
            try harness.price("price-batch-sqs-partial.json").failedItems == [
                "2e1424d4-f796-459a-8184-9c92662be6da", "7b0a8f3e-1c2d-4e5f-9a8b-0c1d2e3f4a5b",
            ])
    }

    @Test func servesTheReadRoutes() throws {
        #expect(try harness.price("get-price-apigw.json").http?.status == 404)
        #expect(harness.metrics.last?["CacheMisses"] == .number("1"))
        _ = try harness.price("price-update.json")
        let found = try harness.price("get-price-apigw.json").http
        #expect(found?.status == 200)
        #expect(
            found?.body.jsonText
                == #"{"symbol":"AAPL","close":"205.50","open":"203.00","high":"206.00","low":"202.50","volume":"1000000","timestamp":"1697658000","source":"speed_layer"}"#
        )
        #expect(harness.metrics.last?["CacheHits"] == .number("1"))
        let several = try harness.price("get-prices-apigw.json").http
        #expect(several?.status == 200)
        #expect(several?.body["prices"]?.objectMembers?.map(\.key) == ["AAPL"])
        #expect(several?.body["missing"] == .array([.string("MSFT"), .string("ZZZZ")]))
        #expect(try harness.price("get-price-missing-apigw.json").http?.status == 404)
        let invalid = try harness.price("get-price-invalid-symbol-apigw.json").http
        #expect(invalid?.status == 400)
        #expect(invalid?.body["message"]?.stringValue?.hasPrefix("symbol: ") == true)
        #expect(try harness.price("unknown-route-apigw.json").http?.status == 404)
        let wrongMethod = try harness.price("wrong-method-apigw.json")
        #expect(wrongMethod.http?.status == 405)
        #expect(wrongMethod.answer?["headers"]?["allow"] == .string("GET"))
    }

    @Test func upsertsASessionAndReadsItsPrices() throws {
        #expect(try harness.price("get-session-prices-apigw.json").http?.status == 404)
        let put = try harness.price("put-session-apigw.json").http
        #expect(put?.status == 200)
        #expect(put?.body["session"]?.jsonText == #"{"active_symbols":"AAPL,MSFT","last_active":"1697658000","websocket_connected":"true"}"#)
        #expect((1798...1800).contains(try harness.ttl("session:user-42")))
        _ = try harness.price("price-update.json")
        let prices = try harness.price("get-session-prices-apigw.json").http
        #expect(prices?.status == 200)
        #expect(prices?.body["prices"]?.objectMembers?.map(\.key) == ["AAPL"])
        #expect(prices?.body["missing"] == .array([.string("MSFT")]))
        let invalid = try harness.price("put-session-invalid-body-apigw.json").http
        #expect(invalid?.status == 400)
        #expect(invalid?.body["message"]?.stringValue?.hasPrefix("active_symbols[1]: ") == true)
    }

    @Test func aSessionIsUsedOnlyByItsOwnCognitoIdentityUnderIAM() throws {
        let put = try harness.price("put-session-iam-apigw.json").http
        #expect(put?.status == 200)
        #expect(put?.body["user_id"]?.stringValue == "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")
        #expect(try harness.price("get-session-prices-iam-apigw.json").http?.status == 200)
    }

    @Test(arguments: [
        // A JWT subject that is another user.
        "put-session-other-user-apigw.json", "get-session-prices-other-user-apigw.json",
        // A Cognito identity that is another user.
        "get-session-prices-other-identity-apigw.json",
        // IAM-signed by a role that is no Cognito identity, and no authenticated caller at all.
        "put-session-iam-role-apigw.json", "put-session-unauthenticated-apigw.json",
    ])
    func refusesAnotherUsersSessionWithA403AndTouchesNothing(_ file: String) throws {
        _ = try harness.price("put-session-apigw.json")  // user-42's session exists
        let before = try harness.client.command(RedisCommand("HGETALL", "session:user-42"))
        let answer = try harness.price(file).http
        #expect(answer?.status == 403)
        #expect(answer?.body["error"]?.stringValue == "forbidden")
        #expect(answer?.body["message"]?.stringValue?.isEmpty == false)
        #expect(try harness.client.command(RedisCommand("HGETALL", "session:user-42")) == before)
        #expect(try harness.client.command(RedisCommand("EXISTS", "session:user-43")).integerValue == 0)
        #expect(try harness.client.command(RedisCommand("EXISTS", "session:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")).integerValue == 0)
    }

    @Test(arguments: [
        ("invalid-symbol.json", "symbol: "),
        ("invalid-price.json", "close: "),
        ("invalid-timestamp.json", "timestamp: "),
        ("missing-field.json", "volume: is required"),
        ("wrong-type.json", "close: "),
        ("invalid-json.json", "The event is not valid JSON: "),
        ("unknown-shape.json", "Unknown event shape: "),
        ("unknown-event-source.json", "Invalid record batch: Records[0].eventSource: "),
        ("deeply-nested.json", "The event is not valid JSON: invalid JSON at byte 88: nesting deeper than 64 levels"),
        ("huge-symbol.json", "symbol: must be at most 32 characters, got 300000"),
    ])
    func refusesEveryBadEvent(_ file: String, _ messagePrefix: String) throws {
        let error = try harness.price(file).error
        #expect(error?.errorType == "Function.InvalidEvent")
        #expect(error?.errorMessage.hasPrefix(messagePrefix) == true, "\(error?.errorMessage ?? "no error")")
        #expect(error?.errorMessage.utf8.count ?? .max < 400)
        #expect(harness.metrics.last?["Invalid"] == .number("1"))
        #expect(try harness.client.command(.init("DBSIZE")).integerValue == 0)
    }

    @Test func refusesAnEventOverSixMegabytesBeforeParsingIt() {
        let oversized = Array(#"{"symbol":""#.utf8) + Array(repeating: UInt8(ascii: "A"), count: 6 * 1024 * 1024) + Array(#""}"#.utf8)
        let error = harness.invoke(harness.prices, bytes: oversized).error
        #expect(error?.errorType == "Function.InvalidEvent")
        #expect(error?.errorMessage == "The event is \(oversized.count) bytes; the limit is 6291456 bytes (6 MB).")
    }

    @Test func reportsRedisTroubleAndGoesOnServing() throws {
        harness.server.kill()
        let write = try harness.price("price-update.json").error
        #expect(write?.errorType == "Function.RedisUnavailable")
        let batch = try harness.price("price-batch-sqs.json").error
        #expect(batch?.errorType == "Function.RedisUnavailable")
        let read = try harness.price("get-price-apigw.json").http
        #expect(read?.status == 503)
        #expect(read?.body["error"] == .string("cache_unavailable"))
        #expect(harness.metrics.last?["RedisErrors"] == .number("1"))
        try harness.server.restart()
        #expect(try harness.price("price-update.json").answer?.jsonText == #"{"written":1,"stale":0}"#)
    }
}
