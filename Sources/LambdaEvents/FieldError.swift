/// A field of an event or payload that is missing or wrong, named by its path
/// (`Records[3].kinesis.data`, `prices[2].close`), so the sender knows exactly what to fix.
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field's path; empty for the document itself.
    public let field: String
    public let problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { field.isEmpty ? problem : "\(field): \(problem)" }

    /// The same problem seen from a containing value: `close` within `prices[2]` is `prices[2].close`.
    public func within(_ parent: String) -> FieldError {
        let path: String
        if field.isEmpty {
            path = parent
        } else if parent.isEmpty || field.hasPrefix("[") {
            path = parent + field
        } else {
            path = parent + "." + field
        }
        return FieldError(field: path, problem: problem)
    }

    /// A value from outside, quoted for an error message and cut short: a multi-megabyte string
    /// must not turn into a multi-megabyte log line.
    public static func quote(_ text: String, limit: Int = 40) -> String {
        guard text.count > limit else { return "\"\(text)\"" }
        return "\"\(text.prefix(limit))…\" (\(text.utf8.count) bytes)"
    }
}

/// Runs `body`, re-rooting any field error it throws under `parent`.
public func within<T>(_ parent: String, _ body: () throws(FieldError) -> T) throws(FieldError) -> T {
    do {
        return try body()
    } catch {
        throw error.within(parent)
    }
}

/// Typed, path-aware access to the members of a JSON object: each accessor either returns the
/// value or throws a `FieldError` that names the member and what was wrong with it.
public struct JSONFields: Sendable {
    public let value: JSONValue

    /// `what` names the document in the error when `value` is not an object.
    public init(_ value: JSONValue, what: String = "") throws(FieldError) {
        guard value.objectMembers != nil else {
            throw FieldError(field: what, problem: "must be a JSON object, got \(value.typeName)")
        }
        self.value = value
    }

    /// The member, with JSON `null` counted as absent (senders use both for "not given").
    public func optional(_ key: String) -> JSONValue? {
        guard let member = value[key], member != .null else { return nil }
        return member
    }

    public func required(_ key: String) throws(FieldError) -> JSONValue {
        guard let member = optional(key) else { throw FieldError(field: key, problem: "is required") }
        return member
    }

    public func string(_ key: String) throws(FieldError) -> String {
        try Self.expectString(try required(key), key)
    }

    public func optionalString(_ key: String) throws(FieldError) -> String? {
        guard let member = optional(key) else { return nil }
        return try Self.expectString(member, key)
    }

    public func object(_ key: String) throws(FieldError) -> JSONFields {
        try JSONFields(try required(key), what: key)
    }

    public func optionalObject(_ key: String) throws(FieldError) -> JSONFields? {
        guard let member = optional(key) else { return nil }
        return try JSONFields(member, what: key)
    }

    public func array(_ key: String) throws(FieldError) -> [JSONValue] {
        let member = try required(key)
        guard let elements = member.arrayValue else {
            throw FieldError(field: key, problem: "must be an array, got \(member.typeName)")
        }
        return elements
    }

    public func optionalBool(_ key: String) throws(FieldError) -> Bool? {
        guard let member = optional(key) else { return nil }
        guard let flag = member.boolValue else {
            throw FieldError(field: key, problem: "must be true or false, got \(member.typeName)")
        }
        return flag
    }

    /// An object of string values (headers, query parameters); absent counts as empty.
    public func stringMap(_ key: String) throws(FieldError) -> [String: String] {
        guard let members = try optionalObject(key)?.value.objectMembers else { return [:] }
        var map: [String: String] = [:]
        for member in members {
            map[member.key] = try within(key) { () throws(FieldError) in try Self.expectString(member.value, member.key) }
        }
        return map
    }

    private static func expectString(_ member: JSONValue, _ key: String) throws(FieldError) -> String {
        guard let text = member.stringValue else {
            throw FieldError(field: key, problem: "must be a string, got \(member.typeName)")
        }
        return text
    }
}
