#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads Secrets Manager secrets through the AWS Parameters and Secrets Lambda Extension: a layer
/// that runs next to the function and serves `GET /secretsmanager/get?secretId=…` on localhost,
/// answering with the `GetSecretValue` JSON and caching it. The function needs no AWS SDK and no
/// request signing: the extension authenticates callers by the `X-Aws-Parameters-Secrets-Token`
/// header, whose value is the function's own `AWS_SESSION_TOKEN`.
///
/// Meant for cold start (an initialisation hook): each call opens its own connection.
public struct SecretsExtensionClient: Sendable {
    /// The extension's default port; `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` moves it.
    public static let defaultPort: UInt16 = 2773
    public static let portVariable = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
    public static let sessionTokenVariable = "AWS_SESSION_TOKEN"
    static let tokenHeader = "X-Aws-Parameters-Secrets-Token"
    /// A secret is at most 64 KB; its JSON envelope adds little. Anything far larger is not an answer.
    static let largestExpectedBody = 256 * 1024

    public let port: UInt16
    /// Lambda's init phase is 10 s in all; a secret the extension cannot fetch in this budget should
    /// fail the cold start with a clear error rather than let Lambda kill it silently.
    public let timeout: Duration
    /// Not printed by `description` or any error: it is a credential.
    private let sessionToken: String

    public init(port: UInt16 = SecretsExtensionClient.defaultPort, sessionToken: String, timeout: Duration = .seconds(5)) {
        self.port = port
        self.sessionToken = sessionToken
        self.timeout = timeout
    }

    /// The client Lambda's environment describes: `AWS_SESSION_TOKEN` (always set on Lambda) and
    /// the optional `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`.
    public static func fromEnvironment(_ environment: [String: String]) throws(SecretsExtensionError) -> SecretsExtensionClient {
        guard let token = environment[sessionTokenVariable], !token.isEmpty else {
            throw SecretsExtensionError(.configuration, "\(sessionTokenVariable) is not set: the secrets extension only answers callers that send it")
        }
        guard let portText = environment[portVariable], !portText.isEmpty else {
            return SecretsExtensionClient(sessionToken: token)
        }
        guard let port = UInt16(portText), port > 0 else {
            throw SecretsExtensionError(.configuration, "\(portVariable) must be a port number, got \"\(portText)\"")
        }
        return SecretsExtensionClient(port: port, sessionToken: token)
    }

    /// The secret's `SecretString` (its current version). Binary secrets are refused.
    public func secretString(id secretID: String) throws(SecretsExtensionError) -> String {
        guard !secretID.isEmpty else {
            throw SecretsExtensionError(.configuration, "the secret id is empty")
        }
        let reply = try SecretsExtensionRequest(port: port, sessionToken: sessionToken, timeout: timeout).get(secretID: secretID)
        guard reply.status == 200 else {
            // The status and an AWS error name only: the body may echo the request, token included.
            let name = SecretsExtensionRefusal.errorName(body: reply.body, errorTypeHeader: reply.errorTypeHeader)
            throw SecretsExtensionError(
                .rejected(status: reply.status),
                SecretsExtensionRefusal.message(secretID: secretID, status: reply.status, errorName: name))
        }
        return try Self.secretString(fromGetSecretValueJSON: reply.body, secretID: secretID)
    }

    /// `environment` with `valueVariable` set to the secret named by `idVariable`, when
    /// `idVariable` is set; unchanged otherwise (so a plain value, e.g. for local runs, still works).
    /// Both set is refused: which one wins would be a guess.
    ///
    ///     let environment = try SecretsExtensionClient.environment(
    ///         ProcessInfo.processInfo.environment, resolvingSecretIn: "REDIS_AUTH_SECRET_ARN", into: "REDIS_AUTH_TOKEN")
    public static func environment(
        _ environment: [String: String], resolvingSecretIn idVariable: String, into valueVariable: String
    ) throws(SecretsExtensionError) -> [String: String] {
        guard let secretID = environment[idVariable], !secretID.isEmpty else { return environment }
        if let value = environment[valueVariable], !value.isEmpty {
            throw SecretsExtensionError(.configuration, "both \(idVariable) and \(valueVariable) are set; set only one")
        }
        var resolved = environment
        resolved[valueVariable] = try fromEnvironment(environment).secretString(id: secretID)
        return resolved
    }

    /// The part of `GetSecretValue`'s answer we use.
    private struct GetSecretValueAnswer: Decodable {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // The member's name is the JSON key of the answer.
        let SecretString: String?
    }

    static func secretString(fromGetSecretValueJSON body: [UInt8], secretID: String) throws(SecretsExtensionError) -> String {
        let answer: GetSecretValueAnswer
        do {
            answer = try JSONDecoder().decode(GetSecretValueAnswer.self, from: Data(body))
        } catch {
            // The decoder's description could quote the body, which holds the secret: say less.
            throw SecretsExtensionError(.invalidResponse, "the secrets extension's answer for secret \(secretID) is not GetSecretValue JSON")
        }
        guard let secret = answer.SecretString else {
            throw SecretsExtensionError(.invalidResponse, "secret \(secretID) has no SecretString (binary secrets are not supported)")
        }
        return secret
    }
}
