import LambdaEvents

/// A strategy's signal for a symbol, validated, ready for `signal:{symbol}:{strategy_id}`.
public struct TradingSignal: Sendable, Hashable {
    public enum Direction: String, Sendable, CaseIterable {
        case buy, sell, hold
    }

    public let symbol: Symbol
    public let strategyID: Identifier
    public let direction: Direction
    /// A JSON number in [0, 1], in its canonical spelling (`CanonicalNumber`).
    public let confidence: String
    public let timestamp: EpochSeconds
    public let price: DecimalText
    /// Free-form; stored as sent (an object, `{}` when absent) except that every number in it is
    /// in its canonical spelling (`CanonicalNumber`).
    public let indicators: JSONValue

    public init(json: JSONValue) throws(FieldError) {
        let fields = try JSONFields(json)
        symbol = try Symbol(try fields.string("symbol"))
        strategyID = try Identifier(try fields.string("strategy_id"), field: "strategy_id")
        let signal = try fields.string("signal")
        guard let direction = Direction(rawValue: signal) else {
            throw FieldError(field: "signal", problem: "must be buy, sell or hold, got \(FieldError.quote(signal))")
        }
        self.direction = direction
        confidence = try Self.confidence(try fields.required("confidence"))
        timestamp = try EpochSeconds(try fields.required("timestamp"), field: "timestamp")
        price = try DecimalText(try fields.required("price"), field: "price")
        let indicators = try fields.optionalObject("indicators")?.value ?? .object([])
        self.indicators = try within("indicators") { () throws(FieldError) in try indicators.withCanonicalNumbers() }
    }

    /// A canonical decimal (`CanonicalNumber`) from 0 to 1, compared exactly: `1.0000000000000000001`
    /// is a double's 1.0 but not a confidence.
    private static func confidence(_ value: JSONValue) throws(FieldError) -> String {
        let mustBe = "must be a number from 0 to 1"
        let decimal = try DecimalText(value, field: "confidence", mustBe: mustBe)
        let integerPart = decimal.text.prefix { $0 != "." }
        let fraction = decimal.text.dropFirst(integerPart.count + 1)
        guard integerPart == "0" || (integerPart == "1" && fraction.allSatisfy { $0 == "0" }) else {
            throw FieldError(field: "confidence", problem: "\(mustBe), got \(FieldError.quote(value.stringValue ?? value.numberLiteral ?? decimal.text))")
        }
        return decimal.text
    }

    /// The stored JSON, members in the documented order:
    /// `{"signal","confidence","timestamp","price","indicators"}`.
    public var storedJSON: JSONValue {
        .object([
            "signal": .string(direction.rawValue),
            "confidence": .number(confidence),
            "timestamp": .string(timestamp.description),
            "price": .string(price.text),
            "indicators": indicators,
        ])
    }

    public var cacheWrite: CacheWrite {
        .string(key: KeyFamily.signalKey(symbol, strategyID: strategyID), value: storedJSON.jsonText, family: .signal, latestWins: timestamp)
    }
}
