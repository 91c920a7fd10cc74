import LambdaEvents

/// A finite, non-negative decimal as text (`205.50`, `1000000`) in its canonical spelling
/// (`CanonicalNumber`): as the sender wrote it when it came as a string, less any redundant
/// leading zero (`007.50` is stored `7.50`), so the serving layer reads back the same digits and
/// every reader the same value.
///
/// JSON numbers are accepted too and written out in plain notation: Python's `json.dumps` writes
/// 0.0000001 as `1e-07`, which a consumer parsing "a decimal" would not expect.
public struct DecimalText: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    static let maximumLength = CanonicalNumber.maximumPlainLength
    public static let defaultRule = "must be a non-negative decimal such as \"205.50\""

    /// `mustBe` states the field's rule in a refusal ("must be a number from 0 to 1").
    public init(_ value: JSONValue, field: String, mustBe: String = DecimalText.defaultRule) throws(FieldError) {
        switch value {
        case .string(let text):
            guard text.utf8.count <= Self.maximumLength, Self.isPlainDecimal(text) else {
                throw FieldError(field: field, problem: "\(mustBe), got \(FieldError.quote(text))")
            }
            // The common case (no padding zero) keeps the sender's String as it is.
            self.text = CanonicalNumber.hasRedundantLeadingZero(text) ? try Self.canonical(text, field: field, mustBe: mustBe) : text
        case .number(let literal):
            guard !literal.hasPrefix("-") else { throw FieldError(field: field, problem: "\(mustBe), got \(literal)") }
            self.text = try Self.canonical(literal, field: field, mustBe: mustBe)
        default:
            throw FieldError(field: field, problem: "\(mustBe), got \(value.typeName)")
        }
    }

    private static func canonical(_ literal: String, field: String, mustBe: String) throws(FieldError) -> String {
        switch CanonicalNumber.canonical(literal, plainOnly: true) {
        case .success(let text): return text
        case .failure: throw FieldError(field: field, problem: "\(mustBe), got \(FieldError.quote(literal)) which is out of range")
        }
    }

    public var description: String { text }

    public var doubleValue: Double { Double(text) ?? 0 }

    /// Digits, optionally a point and more digits: no sign, no exponent, no spaces, nothing empty.
    /// (One pass over the bytes, no intermediate arrays: five of these run for every price update.)
    static func isPlainDecimal(_ text: String) -> Bool {
        var digitsInPart = 0
        var sawPoint = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digitsInPart += 1
            case UInt8(ascii: ".") where !sawPoint && digitsInPart > 0:
                sawPoint = true
                digitsInPart = 0
            default:
                return false
            }
        }
        return digitsInPart > 0
    }
}

/// A Unix time in whole seconds, as a string of digits or a JSON integer.
public struct EpochSeconds: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let seconds: Int64

    /// 9,999,999,999 is the year 2286; anything longer is almost surely milliseconds sent by mistake.
    static let maximum: Int64 = 9_999_999_999

    public init(seconds: Int64) {
        self.seconds = seconds
    }

    public init(_ value: JSONValue, field: String) throws(FieldError) {
        let mustBe = "must be epoch seconds, a whole number such as \"1697658000\""
        let digits: String
        switch value {
        case .string(let text): digits = text
        case .number(let literal): digits = literal
        default: throw FieldError(field: field, problem: "\(mustBe), got \(value.typeName)")
        }
        guard !digits.isEmpty, digits.utf8.count <= 19, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(digits) else {
            throw FieldError(field: field, problem: "\(mustBe), got \(FieldError.quote(digits))")
        }
        guard seconds <= Self.maximum else {
            throw FieldError(field: field, problem: "\(mustBe); \(digits) is too large (milliseconds?)")
        }
        self.seconds = seconds
    }

    public var description: String { String(seconds) }

    public static func < (lhs: EpochSeconds, rhs: EpochSeconds) -> Bool { lhs.seconds < rhs.seconds }
}
