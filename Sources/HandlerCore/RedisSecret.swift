import LambdaEvents
import LambdaRuntime
import RedisPool

/// The Redis credentials in the Secrets Manager secret named by `REDIS_AUTH_SECRET_ARN`, read
/// through the Parameters and Secrets extension: at cold start, and again when the server refuses
/// them (a rotation changed the password; see `RedisCredentialsProvider`).
struct RedisSecret: RedisCredentialsProvider {
    let extensionClient: SecretsExtensionClient
    let secretID: String
    /// `REDIS_USERNAME` or `default`: the user a plain AUTH token is sent for.
    let defaultUsername: String
    let useTLS: Bool

    /// What the secret holds: the JSON structure Secrets Manager documents for ElastiCache users
    /// (`{"username": ..., "password": ..., "user_arn": ...}`, kept current by its rotation
    /// function), else the whole string is a replication group's AUTH token (the secret of a stack
    /// without users). A JSON object without string `username` and `password` is refused: it is
    /// neither. Never quotes the secret.
    static func parse(_ secretString: String, secretID: String) throws(RedisError) -> SecretCredentials {
        let bytes = Array(secretString.utf8)
        guard bytes.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) == UInt8(ascii: "{") else {
            return .authToken(secretString)
        }
        guard let object = try? JSONParser.parse(bytes),
            let username = object["username"]?.stringValue,
            let password = object["password"]?.stringValue
        else {
            throw RedisError(
                .configuration, "secret \(secretID) holds a JSON object without the string fields \"username\" and \"password\" of an ElastiCache user's secret"
            )
        }
        return .user(name: username, password: password)
    }

    /// Reads the secret now (the extension may answer from its cache; see the README on its TTL).
    func currentCredentials() throws(RedisError) -> RedisCredentials {
        let secretString: String
        do {
            secretString = try extensionClient.secretString(id: secretID)
        } catch {
            throw RedisError(.authentication, "reading secret \(secretID) again failed: \(error.message)")
        }
        return try RedisConfiguration.validatedCredentials(
            Self.parse(secretString, secretID: secretID), defaultUsername: defaultUsername, useTLS: useTLS
        )
    }
}
