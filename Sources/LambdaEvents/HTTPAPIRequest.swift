/// An API Gateway HTTP API request in payload format 2.0, reduced to what routing needs.
public struct HTTPAPIRequest: Sendable, Equatable {
    public let method: String
    /// The path as the client sent it (`rawPath`), stage prefix removed, split on `/` and
    /// percent-decoded per segment, so `/prices/%5EGSPC` routes with the symbol `^GSPC`.
    public let pathSegments: [String]
    public let queryParameters: [String: String]
    /// Header names lower-cased (API Gateway already sends them so; events written by hand may not).
    public let headers: [String: String]
    /// The body's bytes, base64-decoded when `isBase64Encoded` is set.
    public let body: [UInt8]?
    /// Who API Gateway authenticated (`requestContext.authorizer`), nil for nobody.
    public let caller: CallerIdentity?

    /// Whether an event is shaped like a payload 2.0 request, before it is checked.
    public static func matches(_ event: JSONValue) -> Bool {
        event["version"] == .string("2.0") && event["requestContext"]?["http"] != nil
    }

    public init(event: JSONValue) throws(FieldError) {
        let fields = try JSONFields(event)
        let context = try fields.object("requestContext")
        let http = try within("requestContext") { () throws(FieldError) in try context.object("http") }
        method = try within("requestContext.http") { () throws(FieldError) in try http.string("method").uppercased() }
        let httpPath = try within("requestContext.http") { () throws(FieldError) in try http.optionalString("path") }
        let rawPath = try fields.optionalString("rawPath")
        let stage = try within("requestContext") { () throws(FieldError) in try context.optionalString("stage") }
        pathSegments = try Self.segments(of: rawPath ?? httpPath ?? "/", stage: stage)
        queryParameters = try fields.stringMap("queryStringParameters")
        var lowercased: [String: String] = [:]
        for (name, value) in try fields.stringMap("headers") { lowercased[name.lowercased()] = value }
        headers = lowercased
        body = try Self.body(of: fields)
        caller = CallerIdentity(requestContext: context.value)
    }

    private static func segments(of rawPath: String, stage: String?) throws(FieldError) -> [String] {
        var segments = rawPath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // A named stage (not `$default`) prefixes rawPath with its name; routes are written without it.
        if let stage, stage != "$default", segments.first == stage {
            segments.removeFirst()
        }
        return try segments.map { segment throws(FieldError) in
            guard let decoded = percentDecode(segment) else {
                throw FieldError(field: "rawPath", problem: "has an invalid percent escape in \(FieldError.quote(segment))")
            }
            return decoded
        }
    }

    private static func body(of fields: JSONFields) throws(FieldError) -> [UInt8]? {
        guard let text = try fields.optionalString("body") else { return nil }
        guard try fields.optionalBool("isBase64Encoded") == true else { return Array(text.utf8) }
        guard let bytes = Base64.decode(text) else {
            throw FieldError(field: "body", problem: "is not valid base64 although isBase64Encoded is true")
        }
        return bytes
    }

    static func percentDecode(_ text: String) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// An API Gateway HTTP API response in payload format 2.0, always with a JSON body.
public struct HTTPAPIResponse: Sendable, Equatable {
    public var statusCode: Int
    public var headers: [JSONMember]
    public var body: JSONValue

    public init(statusCode: Int, body: JSONValue, extraHeaders: [JSONMember] = []) {
        self.statusCode = statusCode
        self.headers = [JSONMember("content-type", .string("application/json"))] + extraHeaders
        self.body = body
    }

    /// An error answer with a stable machine-readable `error` code and a message for people.
    public static func error(_ statusCode: Int, code: String, message: String, extraHeaders: [JSONMember] = []) -> HTTPAPIResponse {
        HTTPAPIResponse(
            statusCode: statusCode,
            body: .object(["error": .string(code), "message": .string(message)]),
            extraHeaders: extraHeaders
        )
    }

    public var json: JSONValue {
        .object([
            "statusCode": .integer(statusCode),
            "headers": .object(headers),
            "body": .string(body.jsonText),
            "isBase64Encoded": .bool(false),
        ])
    }
}
