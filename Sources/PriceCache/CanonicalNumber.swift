import LambdaEvents

/// The one spelling in which a number is stored, so every reader gets back the value that was sent.
///
/// Senders spell numbers many ways. Stored as sent, `00.5` is not JSON at all (redis-py's
/// `json.loads` and our own `GET /signals/...` fail on the key for its whole TTL), `1E-400` reads
/// back as 0 and `1e400` as infinity in any binary64 parser, and `-0` as a negative zero that
/// some readers keep and others lose. The rule (README, "Stored numbers"):
/// - redundant leading zeros are removed (`007.50` is `7.50`, `0001` is `1`): the value is not in
///   doubt, so refusing would fail a zero-padding producer for nothing;
/// - the digits after the point are kept as sent (`205.50` stays `205.50`: the serving layer
///   shows prices with the precision the producer gave);
/// - an exponent is written out (`0.5e0` is `0.5`, `1.5E+3` is `1500`) when the plain form has at
///   most `maximumPlainLength` characters; a larger or smaller value (only a free-form indicator
///   can be one) keeps an exponent on a single leading digit (`1.5e300`, `-2.25e-80`);
/// - a negative zero, and a value a binary64 double cannot hold (it would read back as infinity
///   or as zero), is refused.
///
/// The result is always a valid RFC 8259 number whose decimal value equals the input's exactly.
struct CanonicalNumber {
    /// A plain form this long holds any price, volume or timestamp; past it, an exponent is shorter.
    static let maximumPlainLength = 64

    enum Refusal: Error, Equatable {
        /// Not `-?digits[.digits][(e|E)[+-]digits]`.
        case malformed
        case negativeZero
        /// Infinity or a non-zero value that underflows to zero in a double.
        case outOfRange
    }

    /// The canonical text of `literal` (a JSON number literal, or a plain decimal string).
    /// `plainOnly` refuses, as out of range, a value whose plain form would exceed the limit
    /// (prices and the other hash fields must be plain decimals).
    static func canonical(_ literal: String, plainOnly: Bool) -> Result<String, Refusal> {
        guard let parts = Parts(literal) else { return .failure(.malformed) }
        let isZero = !parts.digits.contains { $0 != UInt8(ascii: "0") }
        if isZero && parts.isNegative { return .failure(.negativeZero) }
        if let plain = parts.plain() {
            return .success(plain)
        }
        guard !plainOnly else { return .failure(.outOfRange) }
        if isZero { return .success("0") }
        guard let scientific = parts.scientific() else { return .failure(.outOfRange) }
        // A plain form up to 64 characters is always within a double's range; an exponent form
        // may not be, and Swift's parser answers infinity or zero for exactly those.
        guard let value = Double(scientific), value.isFinite, value != 0 else { return .failure(.outOfRange) }
        return .success(scientific)
    }

    /// Whether `text`, a plain decimal, starts with a zero that says nothing (`00.5`, `0001`).
    static func hasRedundantLeadingZero(_ text: String) -> Bool {
        var bytes = text.utf8.makeIterator()
        guard bytes.next() == UInt8(ascii: "0"), let second = bytes.next() else { return false }
        return second != UInt8(ascii: ".")
    }

    /// A literal taken apart: its sign, all its digits (integer part then fraction, as sent) and
    /// where the decimal point goes among them once the exponent is applied.
    private struct Parts {
        let isNegative: Bool
        let digits: [UInt8]
        /// How many of `digits` come before the point; may be negative or past the end.
        let pointPosition: Int

        init?(_ literal: String) {
            var bytes = Array(literal.utf8)[...]
            isNegative = bytes.first == UInt8(ascii: "-")
            if isNegative { bytes = bytes.dropFirst() }
            let integerDigits = bytes.prefix(while: Self.isDigit)
            guard !integerDigits.isEmpty else { return nil }
            bytes = bytes.dropFirst(integerDigits.count)
            var fractionDigits: ArraySlice<UInt8> = []
            if bytes.first == UInt8(ascii: ".") {
                fractionDigits = bytes.dropFirst().prefix(while: Self.isDigit)
                guard !fractionDigits.isEmpty else { return nil }
                bytes = bytes.dropFirst(1 + fractionDigits.count)
            }
            var exponent = 0
            if let marker = bytes.first {
                guard marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") else { return nil }
                bytes = bytes.dropFirst()
                let isNegativeExponent = bytes.first == UInt8(ascii: "-")
                if isNegativeExponent || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
                guard !bytes.isEmpty, bytes.allSatisfy(Self.isDigit) else { return nil }
                // An exponent past Int's range is out of range for any value worth storing; capped
                // so the arithmetic below cannot overflow (the plain and exponent forms then refuse
                // or fail the double check).
                let magnitude = min(Int(String(decoding: bytes, as: UTF8.self)) ?? Int.max, Int(Int32.max))
                exponent = isNegativeExponent ? -magnitude : magnitude
            }
            digits = Array(integerDigits) + Array(fractionDigits)
            pointPosition = integerDigits.count + exponent
        }

        private static func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        /// `[-]digits[.digits]` without redundant leading zeros, or nil when longer than the limit
        /// (measured before anything is built: `1e-100000` must not allocate 100,000 zeros).
        func plain() -> String? {
            let zero = UInt8(ascii: "0")
            // The integer part is the digits before the point, padded with zeros up to it.
            let integerDigits = digits.prefix(max(0, pointPosition))
            let padding = max(0, pointPosition - digits.count)
            let leadingZeros = integerDigits.prefix { $0 == zero }.count
            // All zeros (or no digits before the point) is one "0", padded or not.
            let keptIntegerLength = leadingZeros == integerDigits.count ? 1 : integerDigits.count - leadingZeros + padding
            let fractionLength = pointPosition <= 0 ? -pointPosition + digits.count : max(0, digits.count - pointPosition)
            let length = (isNegative ? 1 : 0) + keptIntegerLength + (fractionLength > 0 ? 1 + fractionLength : 0)
            guard length <= CanonicalNumber.maximumPlainLength else { return nil }

            var text: [UInt8] = isNegative ? [UInt8(ascii: "-")] : []
            text.reserveCapacity(length)
            if leadingZeros == integerDigits.count {
                text.append(zero)
            } else {
                text += integerDigits.dropFirst(leadingZeros)
                text += repeatElement(zero, count: padding)
            }
            if fractionLength > 0 {
                text.append(UInt8(ascii: "."))
                if pointPosition <= 0 {
                    text += repeatElement(zero, count: -pointPosition)
                    text += digits
                } else {
                    text += digits[pointPosition...]
                }
            }
            return String(decoding: text, as: UTF8.self)
        }

        /// `[-]d[.ddd]e[-]N` for a non-zero value, with the digits as sent after the first
        /// significant one; nil when the exponent itself is absurd.
        func scientific() -> String? {
            guard let first = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) else { return nil }
            let significant = digits[first...]
            let exponent = pointPosition - first - 1
            guard abs(exponent) < 100_000 else { return nil }
            var text = isNegative ? "-" : ""
            text += String(decoding: significant.prefix(1), as: UTF8.self)
            if significant.count > 1 {
                text += "." + String(decoding: significant.dropFirst(), as: UTF8.self)
            }
            return text + "e" + String(exponent)
        }
    }
}

extension JSONValue {
    /// The same value with every number in its canonical spelling; a number that has none (a
    /// negative zero, one out of a double's range) is refused, named by its path (`rsi`,
    /// `bands[2]`), so a free-form payload is stored as strictly as the fields the cache knows.
    func withCanonicalNumbers() throws(FieldError) -> JSONValue {
        switch self {
        case .null, .bool, .string:
            return self
        case .number(let literal):
            switch CanonicalNumber.canonical(literal, plainOnly: false) {
            case .success(let text):
                return .number(text)
            case .failure(.negativeZero):
                throw FieldError(field: "", problem: "must not be a negative zero (\(literal)); send 0")
            case .failure:
                throw FieldError(field: "", problem: "\(FieldError.quote(literal)) is out of a double's range (it would read back as infinity or 0)")
            }
        case .array(let elements):
            var canonical: [JSONValue] = []
            canonical.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                canonical.append(try LambdaEvents.within("[\(index)]") { () throws(FieldError) in try element.withCanonicalNumbers() })
            }
            return .array(canonical)
        case .object(let members):
            var canonical: [JSONMember] = []
            canonical.reserveCapacity(members.count)
            for member in members {
                let value = try LambdaEvents.within(Self.pathComponent(member.key)) { () throws(FieldError) in try member.value.withCanonicalNumbers() }
                canonical.append(JSONMember(member.key, value))
            }
            return .object(canonical)
        }
    }

    /// A member name as a path step: as it is when it reads as one (`rsi`, `macd_signal`), else
    /// quoted and cut short (`["a.b"]`), so the path stays unambiguous and a log line short.
    private static func pathComponent(_ key: String) -> String {
        let isPlain =
            !key.isEmpty && key.utf8.count <= 40
            && key.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
        return isPlain ? key : "[\(FieldError.quote(key))]"
    }
}
