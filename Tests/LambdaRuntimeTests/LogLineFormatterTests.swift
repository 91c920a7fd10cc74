import Testing
@testable import LambdaRuntime

@Suite struct LogLineFormatterTests {
    private func line(_ format: LogFormat, _ level: LogLevel, _ message: String, _ requestID: String?, _ milliseconds: Int64 = 1_709_251_199_123) -> String {
        String(
            decoding: LogLineFormatter.line(format: format, level: level, message: message, requestID: requestID, millisecondsSinceEpoch: milliseconds),
            as: UTF8.self)
    }

    @Test func jsonLineCarriesTimestampLevelMessageAndRequestID() {
        #expect(
            line(.json, .info, "hello \"there\"", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
                == #"{"timestamp":"2024-02-29T23:59:59.123Z","level":"INFO","message":"hello \"there\"","requestId":"8476a536-e9f4-11e8-9739-2dfe598c3fcd"}"#
                + "\n")
    }

    @Test func jsonLineOutsideAnInvocationHasNoRequestID() {
        #expect(line(.json, .fatal, "a\nb", nil) == #"{"timestamp":"2024-02-29T23:59:59.123Z","level":"FATAL","message":"a\nb"}"# + "\n")
    }

    @Test func textLineKeepsAMultiLineMessageInOneEvent() {
        #expect(line(.text, .error, "first\nsecond\nthird", "req-1") == "2024-02-29T23:59:59.123Z\treq-1\tERROR\tfirst\rsecond\rthird\n")
        #expect(line(.text, .warn, "no request", nil) == "2024-02-29T23:59:59.123Z\tWARN\tno request\n")
    }

    @Test func textLineEscapesTabsInsideValuesSoTheFieldsStayFour() {
        let text = line(.text, .info, "price\t205.50\nnext", "req\t2")
        #expect(text == "2024-02-29T23:59:59.123Z\treq\\t2\tINFO\tprice\\t205.50\rnext\n")
        #expect(text.split(separator: "\t", omittingEmptySubsequences: false).count == 4)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(1_735_689_599_999), "2024-12-31T23:59:59.999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(4_102_444_800_000), "2100-01-01T00:00:00.000Z"),
    ])
    func timestampsAreRFC3339UTC(milliseconds: Int64, expected: String) {
        var bytes: [UInt8] = []
        LogLineFormatter.appendTimestamp(milliseconds, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    @Test func levelsParseInAnyCase() {
        #expect(LogLevel(name: "debug") == .debug)
        #expect(LogLevel(name: "WARN") == .warn)
        #expect(LogLevel(name: "Fatal") == .fatal)
        #expect(LogLevel(name: "verbose") == nil)
    }

    @Test func loggerConfigurationComesFromTheEnvironment() {
        let json = LambdaLogger(environment: ["AWS_LAMBDA_LOG_FORMAT": "json", "AWS_LAMBDA_LOG_LEVEL": "error"].lookup)
        #expect(json.format == .json)
        #expect(json.minimumLevel == .error)
        #expect(!json.isEnabled(.warn) && json.isEnabled(.error) && json.isEnabled(.fatal))
        let defaults = LambdaLogger(environment: ["AWS_LAMBDA_LOG_FORMAT": "Yaml", "AWS_LAMBDA_LOG_LEVEL": "loud"].lookup)
        #expect(defaults.format == .text)
        #expect(defaults.minimumLevel == .info)
        #expect(defaults.forRequest("r").requestID == "r")
    }
}

extension Dictionary where Key == String, Value == String {
    /// The shape the runtime's environment readers take.
    var lookup: (String) -> String? { { self[$0] } }
}
