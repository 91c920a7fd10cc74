/// The failures of a secret lookup: a small closed set. Messages name the secret id, never the
/// secret or the session token.
public struct SecretsExtensionError: FunctionErrorConvertible, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The environment or the arguments are incomplete or malformed.
        case configuration
        /// Nothing answered on the extension's port within the timeout: the layer is missing.
        case unreachable
        /// The extension did not finish answering within the timeout.
        case timeout
        /// The extension answered with this non-200 status (e.g. 400 for a missing permission
        /// or an unknown secret, 401/403 for a wrong session token).
        case rejected(status: Int)
        /// A 200 whose body is not a `GetSecretValue` answer with a `SecretString`.
        case invalidResponse
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A configuration the secret lookup cannot work with (named by the caller's message).
    public static func configuration(_ message: String) -> SecretsExtensionError {
        SecretsExtensionError(.configuration, message)
    }

    public var description: String { message }

    /// The failure as an initialisation error: `Function.SecretUnavailable`.
    public var functionError: FunctionError {
        FunctionError(type: "Function.SecretUnavailable", message: message)
    }
}
