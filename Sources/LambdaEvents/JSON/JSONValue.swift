/// A JSON document as a value: what events and free-form payloads (a signal's `indicators`) are
/// read into before their fields are checked one by one.
///
/// Numbers keep their literal text, so `205.50` and `1000000` round-trip exactly as sent instead of
/// passing through `Double` (which would turn them into `205.5` and `1000000.0`). Objects keep
/// their members in document order, so what is written back reads the way it was written.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number's literal text, already checked against the JSON number grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var numberLiteral: String? {
        if case .number(let literal) = self { return literal }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var objectMembers: [JSONMember]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The member named `key` of an object (the last one when a key repeats, as most parsers do);
    /// nil for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        objectMembers?.last(where: { $0.key == key })?.value
    }

    /// The JSON type's name, for error messages ("expected a string, got an array").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONValue {
    /// An object from members in the given order.
    public static func object(_ members: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(members.map { JSONMember($0.key, $0.value) })
    }

    public static func integer(_ value: Int) -> JSONValue {
        .number(String(value))
    }
}
