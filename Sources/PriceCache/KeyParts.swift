import LambdaEvents

/// A ticker symbol that is safe inside a key: 1 to 32 of `A-Z a-z 0-9 . - ^ = _`.
///
/// No `:` (the key separator: `price:A:B` would be ambiguous for anyone scanning keys), no
/// whitespace or control bytes, no `*`/`?`/`[` that would turn a serving-layer `SCAN MATCH` into a
/// wildcard. Index symbols (`^GSPC`), share classes (`BRK.B`, `BF-B`), futures (`ES=F`) pass.
public struct Symbol: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(_ text: String, field: String = "symbol") throws(FieldError) {
        try KeyPartRule.symbol.check(text, field: field)
        self.text = text
    }

    public var description: String { text }
}

/// An id inside a key (`strategy_id`, `alert_id`, `user_id`): 1 to 64 of `A-Z a-z 0-9 . - _`.
public struct Identifier: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(_ text: String, field: String) throws(FieldError) {
        try KeyPartRule.identifier.check(text, field: field)
        self.text = text
    }

    public var description: String { text }
}

/// The character and length rules of a key part, with the message that names them.
struct KeyPartRule {
    let maximumLength: Int
    /// Indexed by byte: whether it may appear (a table, since every key part of every record is checked).
    let allowed: [Bool]
    let allowedDescription: String

    init(maximumLength: Int, extraCharacters: String, allowedDescription: String) {
        var allowed = [Bool](repeating: false, count: 256)
        for byte in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8) + Array(extraCharacters.utf8) {
            allowed[Int(byte)] = true
        }
        self.maximumLength = maximumLength
        self.allowed = allowed
        self.allowedDescription = allowedDescription
    }

    static let symbol = KeyPartRule(maximumLength: 32, extraCharacters: ".-^=_", allowedDescription: "A-Z a-z 0-9 . - ^ = _")
    static let identifier = KeyPartRule(maximumLength: 64, extraCharacters: ".-_", allowedDescription: "A-Z a-z 0-9 . - _")

    func check(_ text: String, field: String) throws(FieldError) {
        let bytes = text.utf8
        guard !bytes.isEmpty else { throw FieldError(field: field, problem: "must not be empty") }
        guard bytes.count <= maximumLength else {
            throw FieldError(field: field, problem: "must be at most \(maximumLength) characters, got \(bytes.count): \(FieldError.quote(text))")
        }
        guard let bad = bytes.first(where: { !isAllowed($0) }) else { return }
        throw FieldError(field: field, problem: "may only contain \(allowedDescription); \(FieldError.quote(text)) contains \(Self.describe(bad))")
    }

    private func isAllowed(_ byte: UInt8) -> Bool {
        allowed[Int(byte)]
    }

    private static func describe(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: " "): "a space"
        case 0x21...0x7E: "'\(Character(Unicode.Scalar(byte)))'"
        case ..<0x20, 0x7F: "a control character"
        default: "a non-ASCII character"
        }
    }
}
