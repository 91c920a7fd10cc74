import Testing
@testable import LambdaEvents

private func json(_ text: String) throws -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
}

@Suite struct Base64Tests {
    @Test(arguments: [("", ""), ("QQ==", "A"), ("QUI=", "AB"), ("QUJD", "ABC"), ("eyJhIjoxfQ==", #"{"a":1}"#)])
    func decodesPaddedBase64(_ encoded: String, _ decoded: String) {
        #expect(Base64.decode(encoded) == Array(decoded.utf8))
    }

    @Test(arguments: ["Q", "QQ=", "QQ=A", "Q===", "====", "QU JD", "QUJD\n", "!!!!", "QQ==QQ==", "QU\u{E9}", "QUJD\u{0}AAA"])
    func refusesAnythingElse(_ encoded: String) {
        #expect(Base64.decode(encoded) == nil)
    }

    /// Every length from 0 to 40 bytes (all three paddings, one quad and many), against an
    /// encoder written here from RFC 4648; then a foreign byte at every place of each encoding.
    @Test func roundTripsEveryLengthAndRefusesAForeignByteAnywhere() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        func encode(_ bytes: [UInt8]) -> [UInt8] {
            var text: [UInt8] = []
            var index = 0
            while index < bytes.count {
                let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
                let bits = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * $1.offset) }
                for place in 0..<4 {
                    text.append(place <= chunk.count ? alphabet[Int(bits >> (18 - 6 * place) & 0x3F)] : UInt8(ascii: "="))
                }
                index += 3
            }
            return text
        }
        for length in 0...40 {
            // Spread over the whole byte range, different for every length.
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 167 &+ length &* 31) }
            let encoded = encode(bytes)
            #expect(Base64.decode(String(decoding: encoded, as: UTF8.self)) == bytes, "length \(length)")
            for place in encoded.indices {
                for foreign in [UInt8(ascii: "-"), UInt8(ascii: " "), 0x00] {
                    var broken = encoded
                    broken[place] = foreign
                    #expect(Base64.decode(String(decoding: broken, as: UTF8.self)) == nil, "length \(length), place \(place)")
                }
            }
        }
    }
}

@Suite struct RecordBatchTests {
    @Test func readsKinesisRecords() throws {
        let batch = try RecordBatch(
            event: json(
                #"""
                {"Records":[
                  {"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"111","data":"eyJhIjoxfQ=="}},
                  {"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"222","data":"not base64!"}}
                ]}
                """#))
        #expect(batch.source == .kinesis)
        #expect(
            batch.records == [
                BatchRecord(itemIdentifier: "111", payload: .success(Array(#"{"a":1}"#.utf8))),
                BatchRecord(itemIdentifier: "222", payload: .failure(FieldError(field: "kinesis.data", problem: "is not valid base64"))),
            ])
    }

    @Test func readsSQSMessages() throws {
        let batch = try RecordBatch(
            event: json(
                #"""
                {"Records":[
                  {"eventSource":"aws:sqs","messageId":"m-1","body":"{\"a\":1}"},
                  {"eventSource":"aws:sqs","messageId":"m-2"}
                ]}
                """#))
        #expect(batch.source == .sqs)
        #expect(
            batch.records == [
                BatchRecord(itemIdentifier: "m-1", payload: .success(Array(#"{"a":1}"#.utf8))),
                BatchRecord(itemIdentifier: "m-2", payload: .failure(FieldError(field: "body", problem: "is required"))),
            ])
    }

    @Test(arguments: [
        (#"{"Records":[]}"#, "Records: is empty"),
        (#"{"Records":{}}"#, "Records: must be an array, got an object"),
        (#"{"Records":[{"eventSource":"aws:s3"}]}"#, #"Records[0].eventSource: must be aws:kinesis or aws:sqs, got "aws:s3""#),
        (
            #"{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":""},{"eventSource":"aws:kinesis"}]}"#,
            "Records[1].eventSource: must be aws:sqs like the first record, got aws:kinesis"
        ),
        (#"{"Records":[{"eventSource":"aws:kinesis","kinesis":{"data":""}}]}"#, "Records[0].kinesis.sequenceNumber: is required"),
        (#"{"Records":[{"eventSource":"aws:sqs","messageId":7,"body":""}]}"#, "Records[0].messageId: must be a string, got a number"),
    ])
    func refusesBatchesItCannotReportOn(_ text: String, _ message: String) throws {
        let event = try json(text)
        let error = #expect(throws: FieldError.self) { try RecordBatch(event: event) }
        #expect(error?.description == message)
    }

    @Test func answersThePartialBatchResponse() {
        #expect(
            PartialBatchResponse(failedItemIdentifiers: ["1", "2"]).json.jsonText
                == #"{"batchItemFailures":[{"itemIdentifier":"1"},{"itemIdentifier":"2"}]}"#)
        #expect(PartialBatchResponse(failedItemIdentifiers: []).json.jsonText == #"{"batchItemFailures":[]}"#)
    }
}

@Suite struct HTTPAPITests {
    @Test func readsAPayloadTwoRequest() throws {
        let event = try json(
            #"""
            {"version":"2.0","routeKey":"$default","rawPath":"/prod/prices/%5EGSPC/","rawQueryString":"a=1",
             "headers":{"Content-Type":"application/json"},"queryStringParameters":{"symbols":"AAPL,MSFT"},
             "requestContext":{"stage":"prod","http":{"method":"get","path":"/prod/prices/%5EGSPC/"}},
             "body":"eyJhIjoxfQ==","isBase64Encoded":true}
            """#)
        #expect(HTTPAPIRequest.matches(event))
        let request = try HTTPAPIRequest(event: event)
        #expect(request.method == "GET")
        #expect(request.pathSegments == ["prices", "^GSPC"])
        #expect(request.queryParameters == ["symbols": "AAPL,MSFT"])
        #expect(request.headers == ["content-type": "application/json"])
        #expect(request.body == Array(#"{"a":1}"#.utf8))
    }

    @Test(arguments: [
        (#"{"version":"2.0","requestContext":{"http":{}}}"#, "requestContext.http.method: is required"),
        (#"{"version":"2.0","rawPath":"/a%zz","requestContext":{"http":{"method":"GET"}}}"#, #"rawPath: has an invalid percent escape in "a%zz""#),
        (
            #"{"version":"2.0","rawPath":"/","body":"%%","isBase64Encoded":true,"requestContext":{"http":{"method":"PUT"}}}"#,
            "body: is not valid base64 although isBase64Encoded is true"
        ),
        (#"{"version":"2.0","rawPath":"/","headers":{"x":1},"requestContext":{"http":{"method":"GET"}}}"#, "headers.x: must be a string, got a number"),
    ])
    func refusesMalformedRequests(_ text: String, _ message: String) throws {
        let event = try json(text)
        let error = #expect(throws: FieldError.self) { try HTTPAPIRequest(event: event) }
        #expect(error?.description == message)
    }

    @Test func writesTheResponseByteForByte() {
        let response = HTTPAPIResponse.error(405, code: "method_not_allowed", message: "use GET", extraHeaders: [JSONMember("allow", .string("GET"))])
        #expect(
            response.json.jsonText == #"""
                {"statusCode":405,"headers":{"content-type":"application/json","allow":"GET"},"body":"{\"error\":\"method_not_allowed\",\"message\":\"use GET\"}","isBase64Encoded":false}
                """#)
    }

    @Test func routesByPathThenMethod() {
        let router = HTTPRouter<String>([
            .init("GET", "/prices/{symbol}", "one"),
            .init("GET", "/prices", "many"),
            .init("PUT", "/sessions/{user_id}", "put"),
            .init("GET", "/sessions/{user_id}/prices", "session"),
        ])
        guard case .found("one", let parameters) = router.match(method: "GET", pathSegments: ["prices", "AAPL"]) else {
            Issue.record("GET /prices/AAPL should match")
            return
        }
        #expect(parameters == ["symbol": "AAPL"])
        guard case .found("session", ["user_id": "u1"]) = router.match(method: "GET", pathSegments: ["sessions", "u1", "prices"]) else {
            Issue.record("GET /sessions/u1/prices should match")
            return
        }
        guard case .methodNotAllowed(["PUT"]) = router.match(method: "GET", pathSegments: ["sessions", "u1"]) else {
            Issue.record("GET /sessions/u1 should be 405")
            return
        }
        guard case .notFound = router.match(method: "GET", pathSegments: ["nothing"]) else {
            Issue.record("GET /nothing should be 404")
            return
        }
    }
}

@Suite struct EMFMetricLineTests {
    @Test func writesTheLineByteForByte() {
        let line = EMFMetricLine(
            namespace: "PriceCache",
            dimensions: [("FunctionName", "prices")],
            metrics: [
                .init("RecordsWritten", unit: "Count", value: 3), .init("RedisTime", unit: "Milliseconds", value: 1.25),
                .init("Broken", unit: "Count", value: .nan),
            ],
            properties: [JSONMember("requestId", .string("r-1"))],
            timestampMilliseconds: 1_697_658_000_123
        )
        let expected =
            #"{"_aws":{"Timestamp":1697658000123,"CloudWatchMetrics":[{"Namespace":"PriceCache","Dimensions":[["FunctionName"]],"Metrics":[{"Name":"RecordsWritten","Unit":"Count"},{"Name":"RedisTime","Unit":"Milliseconds"},{"Name":"Broken","Unit":"Count"}]}]},"FunctionName":"prices","RecordsWritten":3,"RedisTime":1.25,"Broken":0,"requestId":"r-1"}"#
        #expect(line.line == Array((expected + "\n").utf8))
    }

    /// `line` writes its bytes directly; they must stay those of `json`, escapes and all.
    @Test(
        arguments: [
            (namespace: "PriceCache", dimensions: [("FunctionName", "prices")], properties: [JSONMember("eventSource", .string("direct"))]),
            (
                namespace: "Name\"space\\", dimensions: [("Function\nName", "a\u{1}b\"c"), ("Second", "é✓")],
                properties: [JSONMember("requestId", .string("r\t1")), JSONMember("nested", .object(["a": .array([.integer(1), .null])]))]
            ),
            (namespace: "Empty", dimensions: [], properties: []),
        ] as [(namespace: String, dimensions: [(name: String, value: String)], properties: [JSONMember])])
    func theWrittenLineIsItsJSONText(_ example: (namespace: String, dimensions: [(name: String, value: String)], properties: [JSONMember])) {
        let line = EMFMetricLine(
            namespace: example.namespace, dimensions: example.dimensions,
            metrics: [
                .init("A\"b", unit: "Count", value: -2), .init("RedisTime", unit: "Milliseconds", value: 0.001),
                .init("Inf", unit: "Count", value: .infinity), .init("Zero", unit: "Count", value: 0),
                .init("Big", unit: "Count", value: 123_456_789_012), .init("Negative", unit: "Count", value: -99_999_999_999_999),
                .init("Huge", unit: "Count", value: 1e15), .init("Ten", unit: "Count", value: 10),
            ],
            properties: example.properties, timestampMilliseconds: 7
        )
        #expect(String(decoding: line.line, as: UTF8.self) == line.json.jsonText + "\n")
        var later = line
        later.timestampMilliseconds = 1_697_658_000_123
        #expect(String(decoding: later.line, as: UTF8.self) == later.json.jsonText + "\n")
    }
}
