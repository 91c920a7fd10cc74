#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What of a non-200 answer from the secrets extension may reach an error message: its status and
/// an AWS error name, nothing else. The body is never quoted: a stand-in (or a broken proxy) that
/// echoes the request would put the session token there, and a log line is no place for it.
///
/// The name is read where AWS services put it (awsJson 1.1, which Secrets Manager speaks and the
/// Secrets Manager Agent forwards as `{"__type":"ResourceNotFoundException","message":…}`): the
/// body's `__type` (or `type`/`code`) field, else the `X-Amzn-ErrorType` header. The Lambda
/// extension itself answers a plain-text `400 Bad Request` without a name; then only the status is
/// kept. Pure.
enum SecretsExtensionRefusal {
    static let errorTypeHeader = "X-Amzn-ErrorType"

    /// The AWS error name, only when it has the shape of one (`^[A-Za-z]+Exception$`, at most 64
    /// letters); a namespace prefix (`com.amazonaws.secretsmanager#`) and a `:` suffix (the header's
    /// `Name:http://…` form) are dropped first.
    static func errorName(body: [UInt8], errorTypeHeader: String?) -> String? {
        if let named = nameField(of: body).flatMap(validName) { return named }
        return errorTypeHeader.flatMap(validName)
    }

    /// `the secrets extension refused secret ID (HTTP 400, AccessDeniedException)`.
    static func message(secretID: String, status: Int, errorName: String?) -> String {
        let reason = errorName.map { ", \($0)" } ?? ", no AWS error name given"
        return "the secrets extension refused secret \(secretID) (HTTP \(status)\(reason))" + hint(status: status)
    }

    private static func hint(status: Int) -> String {
        switch status {
        case 400: ": is the secret id right, and may the function's role call secretsmanager:GetSecretValue (and kms:Decrypt)?"
        case 401, 403: ": the extension did not accept the session token"
        default: ""
        }
    }

    private struct ErrorShape: Decodable {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // The member's name is the JSON key that AWS error bodies use.
        let __type: String?
        let type: String?
        let code: String?
    }

    private static func nameField(of body: [UInt8]) -> String? {
        // An error body is small; anything large is not one (and is not parsed).
        guard !body.isEmpty, body.count <= 8 * 1024, body.first == UInt8(ascii: "{"),
            let shape = try? JSONDecoder().decode(ErrorShape.self, from: Data(body))
        else { return nil }
        return shape.__type ?? shape.type ?? shape.code
    }

    private static func validName(_ raw: String) -> String? {
        var name = Substring(raw)
        if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        name = name.drop { $0 == " " }
        guard name.utf8.count <= 64, name.hasSuffix("Exception"), name.count > "Exception".count,
            name.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) })
        else { return nil }
        return String(name)
    }
}
