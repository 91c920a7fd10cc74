import LambdaEvents
import Testing
@testable import PriceCache

private func json(_ text: String) throws -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
}

private func refusal(_ body: () throws(FieldError) -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return error.description
    }
}

@Suite struct KeyPartTests {
    @Test(arguments: ["AAPL", "BRK.B", "BF-B", "^GSPC", "ES=F", "a_b", String(repeating: "X", count: 32)])
    func acceptsSymbols(_ text: String) throws {
        #expect(try Symbol(text).text == text)
    }

    @Test(arguments: [
        ("", "symbol: must not be empty"),
        ("AAPL:US", #"symbol: may only contain A-Z a-z 0-9 . - ^ = _; "AAPL:US" contains ':'"#),
        ("AA PL", #"symbol: may only contain A-Z a-z 0-9 . - ^ = _; "AA PL" contains a space"#),
        ("AA\nPL", "symbol: may only contain A-Z a-z 0-9 . - ^ = _; \"AA\nPL\" contains a control character"),
        ("ÄPL", #"symbol: may only contain A-Z a-z 0-9 . - ^ = _; "ÄPL" contains a non-ASCII character"#),
        ("price*", #"symbol: may only contain A-Z a-z 0-9 . - ^ = _; "price*" contains '*'"#),
        (String(repeating: "X", count: 33), #"symbol: must be at most 32 characters, got 33: "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX""#),
    ])
    func refusesSymbols(_ text: String, _ message: String) {
        #expect(refusal { () throws(FieldError) in _ = try Symbol(text) } == message)
    }

    @Test func refusesIdentifiersNamingTheField() throws {
        #expect(
            refusal { () throws(FieldError) in _ = try Identifier("a^b", field: "alert_id") }
                == #"alert_id: may only contain A-Z a-z 0-9 . - _; "a^b" contains '^'"#)
        #expect(
            refusal { () throws(FieldError) in _ = try Identifier(String(repeating: "u", count: 65), field: "user_id") }?
                .hasPrefix("user_id: must be at most 64 characters, got 65") == true)
        #expect(try Identifier(String(repeating: "u", count: 64), field: "user_id").text.count == 64)
    }

    @Test func quotesHugeValuesShortly() {
        let message = refusal { () throws(FieldError) in _ = try Symbol(String(repeating: "A", count: 1_000_000)) }
        #expect(message == #"symbol: must be at most 32 characters, got 1000000: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…" (1000000 bytes)"#)
    }
}

@Suite struct NumericFieldTests {
    @Test(arguments: [
        (#""205.50""#, "205.50"), (#""0""#, "0"), ("205.50", "205.50"), ("1000000", "1000000"), ("0", "0"),
        ("1e-07", "0.0000001"), ("1.5E+3", "1500"), ("1.50e1", "15.0"), ("0.5e1", "5"), ("0e5", "0"), ("12e-1", "1.2"),
    ])
    func acceptsDecimals(_ literal: String, _ stored: String) throws {
        #expect(try DecimalText(json(literal), field: "close").text == stored)
    }

    @Test(arguments: [
        (#""-1""#, #"close: must be a non-negative decimal such as "205.50", got "-1""#),
        ("-1", #"close: must be a non-negative decimal such as "205.50", got -1"#),
        (#""1e5""#, #"close: must be a non-negative decimal such as "205.50", got "1e5""#),
        (#""NaN""#, #"close: must be a non-negative decimal such as "205.50", got "NaN""#),
        (#"" 1""#, #"close: must be a non-negative decimal such as "205.50", got " 1""#),
        (#""1.""#, #"close: must be a non-negative decimal such as "205.50", got "1.""#),
        (#""""#, #"close: must be a non-negative decimal such as "205.50", got """#),
        ("1e400", #"close: must be a non-negative decimal such as "205.50", got "1e400" which is out of range"#),
        ("1e64", #"close: must be a non-negative decimal such as "205.50", got "1e64" which is out of range"#),
        ("1e-63", #"close: must be a non-negative decimal such as "205.50", got "1e-63" which is out of range"#),
        ("true", #"close: must be a non-negative decimal such as "205.50", got a boolean"#),
        ("null", #"close: must be a non-negative decimal such as "205.50", got null"#),
    ])
    func refusesOtherValues(_ literal: String, _ message: String) throws {
        let value = try json(literal)
        #expect(refusal { () throws(FieldError) in _ = try DecimalText(value, field: "close") } == message)
    }

    /// Every spelling is stored the one way every JSON reader parses back to the same value.
    @Test(arguments: [
        (#""00.5""#, "0.5"), (#""0001""#, "1"), (#""000""#, "0"), (#""007.50""#, "7.50"), (#""0.000""#, "0.000"),
        ("0.5e0", "0.5"), ("5E-1", "0.5"), ("0.0e5", "0"), ("0e-3", "0.000"), ("0.05e-1", "0.005"),
        ("1e-60", "0." + String(repeating: "0", count: 59) + "1"), ("1e63", "1" + String(repeating: "0", count: 63)),
        ("0.00120e3", "1.20"), ("120e-1", "12.0"), (#""0000000000000000000000000000000000000000000000000000000000000001""#, "1"),
    ])
    func removesRedundantLeadingZerosAndExponents(_ literal: String, _ stored: String) throws {
        #expect(try DecimalText(json(literal), field: "close").text == stored)
    }

    @Test(
        arguments: [
            ("-0", nil), ("-0.0e7", nil), ("1e400", nil), ("1E-400", nil), ("-1e400", nil), ("1e-324", nil),
            ("0", "0"), ("-1.50", "-1.50"), ("-2.5E-3", "-0.0025"), ("1.5e300", "1.5e300"), ("-2.250e-80", "-2.250e-80"),
            ("123e100", "1.23e102"), ("0.00012e-100", "1.2e-104"), ("0e999999999999999999999", "0"), ("5e-324", "5e-324"),
        ] as [(String, String?)])
    func canonicalisesFreeFormNumbers(_ literal: String, _ stored: String?) throws {
        let canonical = try? JSONValue.number(literal).withCanonicalNumbers()
        #expect(canonical == stored.map(JSONValue.number))
    }

    @Test func readsEpochSeconds() throws {
        #expect(try EpochSeconds(json(#""1697658000""#), field: "timestamp").seconds == 1_697_658_000)
        #expect(try EpochSeconds(json("1697658000"), field: "timestamp").description == "1697658000")
        let mustBe = #"timestamp: must be epoch seconds, a whole number such as "1697658000""#
        for (literal, message) in [
            ("1697658000.5", #"\#(mustBe), got "1697658000.5""#),
            (#""2023-10-18""#, #"\#(mustBe), got "2023-10-18""#),
            ("-5", #"\#(mustBe), got "-5""#),
            ("1697658000000", "\(mustBe); 1697658000000 is too large (milliseconds?)"),
            ("[]", "\(mustBe), got an array"),
        ] {
            let value = try json(literal)
            #expect(refusal { () throws(FieldError) in _ = try EpochSeconds(value, field: "timestamp") } == message)
        }
    }
}

@Suite struct PayloadTests {
    @Test func readsAPriceUpdateWithTheDefaultSource() throws {
        let update = try PriceUpdate(
            json: json(#"{"symbol":"AAPL","close":"205.50","open":"203.00","high":"206.00","low":"202.50","volume":"1000000","timestamp":"1697658000"}"#))
        #expect(
            update.hashFields.map { "\($0.field)=\($0.value)" } == [
                "close=205.50", "open=203.00", "high=206.00", "low=202.50", "volume=1000000", "timestamp=1697658000", "source=speed_layer",
            ])
        #expect(update.cacheWrite.key == "price:AAPL")
        #expect(
            update.cacheWrite.scriptArguments.map { String(decoding: $0, as: UTF8.self) } == [
                "hash", "300", "7", "close", "open", "high", "low", "volume", "timestamp", "source", "1",
                "1697658000", "205.50", "203.00", "206.00", "202.50", "1000000", "1697658000", "speed_layer",
            ])
    }

    @Test(arguments: [
        (#"{"close":"1"}"#, "symbol: is required"),
        (#"{"symbol":5}"#, "symbol: must be a string, got a number"),
        (#"{"symbol":"AAPL","close":"1","open":"1","high":"1","low":"1","timestamp":"1"}"#, "volume: is required"),
        (
            #"{"symbol":"AAPL","close":"1","open":"1","high":"1","low":"1","volume":"1","timestamp":"1","source":"a b"}"#,
            #"source: may only contain A-Z a-z 0-9 . - _; "a b" contains a space"#
        ),
        ("[1]", "must be a JSON object, got an array"),
    ])
    func refusesBadPriceUpdates(_ text: String, _ message: String) throws {
        let value = try json(text)
        #expect(refusal { () throws(FieldError) in _ = try PriceUpdate(json: value) } == message)
    }

    @Test func storesASignalInTheDocumentedShape() throws {
        let signal = try TradingSignal(
            json: json(
                #"{"symbol":"AAPL","strategy_id":"momentum","signal":"buy","confidence":0.85,"timestamp":"1697658000","price":205.50,"indicators":{"rsi":45.2,"macd":"bullish"},"extra":1}"#
            ))
        #expect(
            signal.storedJSON.jsonText
                == #"{"signal":"buy","confidence":0.85,"timestamp":"1697658000","price":"205.50","indicators":{"rsi":45.2,"macd":"bullish"}}"#)
        #expect(signal.cacheWrite.key == "signal:AAPL:momentum")
        #expect(signal.cacheWrite.scriptArguments.prefix(5).map { String(decoding: $0, as: UTF8.self) } == ["string", "3600", "0", "1", "1697658000"])
    }

    @Test func defaultsIndicatorsToAnEmptyObject() throws {
        let signal = try TradingSignal(json: json(#"{"symbol":"AAPL","strategy_id":"m","signal":"hold","confidence":"1","timestamp":1,"price":"1"}"#))
        #expect(signal.storedJSON.jsonText == #"{"signal":"hold","confidence":1,"timestamp":"1","price":"1","indicators":{}}"#)
    }

    @Test(arguments: [
        (#""strong_buy""#, "0.5", "{}", #"signal: must be buy, sell or hold, got "strong_buy""#),
        (#""buy""#, "1.2", "{}", #"confidence: must be a number from 0 to 1, got "1.2""#),
        (#""buy""#, "-0.1", "{}", "confidence: must be a number from 0 to 1, got -0.1"),
        (#""buy""#, "-0", "{}", "confidence: must be a number from 0 to 1, got -0"),
        (#""buy""#, "1E-400", "{}", #"confidence: must be a number from 0 to 1, got "1E-400" which is out of range"#),
        (#""buy""#, "1.0000000000000000001", "{}", #"confidence: must be a number from 0 to 1, got "1.0000000000000000001""#),
        (#""buy""#, #""01.5""#, "{}", #"confidence: must be a number from 0 to 1, got "01.5""#),
        (#""buy""#, "0.5", #"{"a":{"b":[1,-0.0]}}"#, "indicators.a.b[1]: must not be a negative zero (-0.0); send 0"),
        (#""buy""#, "0.5", #"{"x.y":1e400}"#, #"indicators["x.y"]: "1e400" is out of a double's range (it would read back as infinity or 0)"#),
        (#""buy""#, "0.5", #"{"tiny":-1E-400}"#, #"indicators.tiny: "-1E-400" is out of a double's range (it would read back as infinity or 0)"#),
        (#""buy""#, #""high""#, "{}", #"confidence: must be a number from 0 to 1, got "high""#),
        (#""buy""#, "0.5", "[1]", "indicators: must be a JSON object, got an array"),
    ])
    func refusesBadSignals(_ signal: String, _ confidence: String, _ indicators: String, _ message: String) throws {
        let value = try json(
            #"{"symbol":"AAPL","strategy_id":"m","signal":\#(signal),"confidence":\#(confidence),"timestamp":"1","price":"1","indicators":\#(indicators)}"#)
        #expect(refusal { () throws(FieldError) in _ = try TradingSignal(json: value) } == message)
    }

    @Test func readsAlertStatuses() throws {
        let alert = try AlertStatus(json: json(#"{"alert_id":"a-123","status":"triggered"}"#))
        #expect(alert.cacheWrite.scriptArguments.map { String(decoding: $0, as: UTF8.self) } == ["string", "86400", "0", "1", "", "triggered"])
        let bad = try json(#"{"alert_id":"a-123","status":"firing"}"#)
        #expect(refusal { () throws(FieldError) in _ = try AlertStatus(json: bad) } == #"status: must be triggered, pending or disabled, got "firing""#)
    }

    @Test func readsSessionUpdates() throws {
        let userID = try Identifier("user-42", field: "user_id")
        let now = EpochSeconds(seconds: 1_697_658_000)
        let full = try SessionUpdate(
            userID: userID, json: json(#"{"active_symbols":["AAPL","MSFT"],"websocket_connected":true,"last_active":1697657000}"#), now: now)
        #expect(full.hashFields.map { "\($0.field)=\($0.value)" } == ["active_symbols=AAPL,MSFT", "last_active=1697657000", "websocket_connected=true"])
        let listed = try SessionUpdate(userID: userID, json: json(#"{"active_symbols":"AAPL,MSFT","websocket_connected":"false"}"#), now: now)
        #expect(listed.hashFields.map { "\($0.field)=\($0.value)" } == ["active_symbols=AAPL,MSFT", "last_active=1697658000", "websocket_connected=false"])
        #expect(
            try SessionUpdate(userID: userID, json: json("{}"), now: now).cacheWrite.scriptArguments.map { String(decoding: $0, as: UTF8.self) }
                == ["hash", "1800", "1", "last_active", "1", "", "1697658000"])
        for (text, message) in [
            (#"{"active_symbols":"AAPL,MS FT"}"#, #"active_symbols[1]: may only contain A-Z a-z 0-9 . - ^ = _; "MS FT" contains a space"#),
            (#"{"active_symbols":[1]}"#, "active_symbols[0]: must be a string, got a number"),
            (#"{"websocket_connected":"yes"}"#, #"websocket_connected: must be true or false, got "yes""#),
        ] {
            let value = try json(text)
            #expect(refusal { () throws(FieldError) in _ = try SessionUpdate(userID: userID, json: value, now: now) } == message)
        }
    }

    @Test func keyFamiliesHaveTheirExactTTLs() {
        #expect(KeyFamily.allCases.map(\.ttlSeconds) == [300, 3600, 86_400, 1800])
    }
}
