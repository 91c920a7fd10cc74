import LambdaEvents

/// A finite, non-negative decimal as text (`205.50`, `1000000`), stored exactly as the sender wrote
/// it when it came as a string, so the serving layer reads back the same digits.
///
/// JSON numbers are accepted too and written out in plain notation: Python's `json.dumps` writes
/// 0.0000001 as `1e-07`, which a consumer parsing "a decimal" would not expect.
public struct DecimalText: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    static let maximumLength = 64
    /// Beyond this exponent the plain notation would be longer than any price or volume needs.
    static let maximumExponent = 40

    public init(_ value: JSONValue, field: String) throws(FieldError) {
        let mustBe = "must be a non-negative decimal such as \"205.50\""
        switch value {
        case .string(let text):
            guard text.utf8.count <= Self.maximumLength, Self.isPlainDecimal(text) else {
                throw FieldError(field: field, problem: "\(mustBe), got \(FieldError.quote(text))")
            }
            self.text = text
        case .number(let literal):
            guard !literal.hasPrefix("-") else { throw FieldError(field: field, problem: "\(mustBe), got \(literal)") }
            guard let plain = Self.plainNotation(ofNonNegativeLiteral: literal), plain.utf8.count <= Self.maximumLength else {
                throw FieldError(field: field, problem: "\(mustBe), got \(FieldError.quote(literal)) which is out of range")
            }
            self.text = plain
        default:
            throw FieldError(field: field, problem: "\(mustBe), got \(value.typeName)")
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

    /// A valid JSON number literal without a sign, rewritten without its exponent.
    static func plainNotation(ofNonNegativeLiteral literal: String) -> String? {
        let parts = literal.split(whereSeparator: { $0 == "e" || $0 == "E" })
        guard parts.count == 2 else { return literal }
        guard let exponent = Int(parts[1]), abs(exponent) <= maximumExponent else { return nil }
        let mantissa = parts[0]
        let pieces = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerDigits = pieces[0]
        let digits = integerDigits + (pieces.count == 2 ? pieces[1] : "")
        let pointPosition = integerDigits.count + exponent
        var plain: String
        if pointPosition <= 0 {
            plain = "0." + String(repeating: "0", count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            plain = digits + String(repeating: "0", count: pointPosition - digits.count)
        } else {
            plain = digits.prefix(pointPosition) + "." + digits.dropFirst(pointPosition)
        }
        // Moving the point can leave leading zeros ("0.5e1" -> "05"); keep one before a point.
        while plain.hasPrefix("0"), plain.count > 1, !plain.hasPrefix("0.") { plain.removeFirst() }
        return plain
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
