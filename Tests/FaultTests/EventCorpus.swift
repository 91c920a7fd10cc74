import Foundation

/// Seeds for fuzzing the event decoding: every event shape the functions accept, plus the repo's
/// `events/` samples (good and bad) when present, so new shapes are fuzzed as soon as they land.
enum EventCorpus {
    static let builtInSeeds: [String] = [
        #"{"symbol":"AAPL","close":"205.50","open":"203.00","high":"206.00","low":"202.50","volume":"1000000","timestamp":"1697658000"}"#,
        #"{"symbol":"MSFT","close":410.5,"open":1e2,"high":-0.0,"low":2E-3,"volume":1000000,"timestamp":1697658000,"source":"batch"}"#,
        #"{"prices":[{"symbol":"AAPL","close":"1","open":"1","high":"1","low":"1","volume":"1","timestamp":"1"},{"symbol":"^GSPC","close":"2"}]}"#,
        #"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"AAPL","sequenceNumber":"49545115243490985018280067714973144582180062593244200961","data":"eyJzeW1ib2wiOiJBQVBMIiwiY2xvc2UiOiIyMDUuNTAiLCJ0aW1lc3RhbXAiOiIxNjk3NjU4MDAwIn0=","approximateArrivalTimestamp":1697658000.5},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:1","eventName":"aws:kinesis:record","awsRegion":"us-east-1","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/prices"},{"kinesis":{"sequenceNumber":"2","data":"e30="},"eventSource":"aws:kinesis"}]}"#,
        #"{"Records":[{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEB","body":"{\"symbol\":\"AAPL\",\"close\":\"205.50\",\"timestamp\":\"1697658000\"}","attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:prices","awsRegion":"us-east-1"}]}"#,
        #"{"version":"2.0","routeKey":"GET /prices/{symbol}","rawPath":"/prices/AAPL","rawQueryString":"","headers":{"accept":"application/json","Host":"x"},"requestContext":{"http":{"method":"GET","path":"/prices/AAPL","protocol":"HTTP/1.1","sourceIp":"1.2.3.4"},"stage":"$default","requestId":"r"},"isBase64Encoded":false}"#,
        #"{"version":"2.0","rawPath":"/prod/prices","queryStringParameters":{"symbols":"AAPL,MSFT,%5EGSPC"},"requestContext":{"http":{"method":"get"},"stage":"prod"}}"#,
        #"{"version":"2.0","rawPath":"/sessions/u-1","body":"eyJhY3RpdmVfc3ltYm9scyI6WyJBQVBMIl19","isBase64Encoded":true,"requestContext":{"http":{"method":"PUT"}}}"#,
        #"{"symbol":"AAPL","strategy_id":"momentum","signal":"buy","confidence":0.85,"timestamp":"1697658000","price":"205.50","indicators":{"rsi":45.2,"macd":"bullish","bands":[1,2,[3,{"x":null}]],"ok":true}}"#,
        #"{"alert_id":"a-123","status":"triggered"}"#,
        #"["\u0041\n\t\"\\\/\b\f\r\ud83d\ude00", 0, -0.5e+10, true, false, null, {}, []]"#,
    ]

    /// Pieces of JSON and of AWS event shapes that mutations splice in.
    static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\u0000", "\\ud800", "\\udc00\\ud800", "\u{0}", "\u{FF}",
        "\u{C3}", "\u{E2}\u{82}", "\u{F0}\u{9F}\u{98}", "true", "false", "null", "1e999", "-", ".", "e", "E+",
        "\"Records\":", "\"eventSource\":\"aws:kinesis\"", "\"eventSource\":\"aws:sqs\"", "\"kinesis\":{",
        "\"data\":\"", "\"body\":\"", "\"sequenceNumber\":", "\"messageId\":", "\"version\":\"2.0\"",
        "\"requestContext\":{\"http\":{\"method\":", "\"rawPath\":\"/", "%", "%FF", "%2F", "/../", "//",
        "\"isBase64Encoded\":true", "====", "\"symbol\":", "\"timestamp\":", "\"prices\":[",
        String(repeating: "[", count: 70), String(repeating: "{\"a\":", count: 70),
    ].map { Array($0.utf8) }

    static var seeds: [[UInt8]] {
        builtInSeeds.map { Array($0.utf8) } + repositoryEvents()
    }

    /// The repository's `events/*.json`, found from this file's place in the source tree.
    private static func repositoryEvents() -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("events")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.sorted().filter { $0.hasSuffix(".json") }.compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).map { Array($0) }
        }.filter { $0.count <= 64 * 1024 }
    }
}
