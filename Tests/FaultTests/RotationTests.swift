import Foundation
import LambdaRuntime
import Testing
import TestSupport

/// A stand-in of the Parameters and Secrets extension whose secret the test changes, as a
/// rotation changes the secret's `AWSCURRENT` version. Counts the reads.
final class RotatingSecretExtension: @unchecked Sendable {
    static let sessionToken = "session-token-for-tests"
    let secretID: String
    private let lock = NSLock()
    private var secret: String
    private var readCount = 0
    private var server: LoopbackHTTPServer?

    init(secretID: String, secret: String) throws {
        self.secretID = secretID
        self.secret = secret
        server = try LoopbackHTTPServer(maximumBodySize: 64 * 1024) { [unowned self] request in answer(request) }
    }

    var port: UInt16 { server?.port ?? 0 }
    var reads: Int { lock.withLock { readCount } }

    func rotate(to newSecret: String) { lock.withLock { secret = newSecret } }

    func stop() { server?.stop() }

    /// The function's environment for this extension and secret.
    var environment: [String: String] {
        [
            "REDIS_AUTH_SECRET_ARN": secretID, "AWS_SESSION_TOKEN": Self.sessionToken,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": String(port),
        ]
    }

    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        guard request.header("X-Aws-Parameters-Secrets-Token") == Self.sessionToken else {
            return .json(401, Array(#"{"message":"bad token"}"#.utf8))
        }
        let current = lock.withLock { () -> String in
            readCount += 1
            return secret
        }
        let body = try! JSONSerialization.data(withJSONObject: ["ARN": secretID, "SecretString": current, "VersionStages": ["AWSCURRENT"]])
        return .json(200, Array(body))
    }
}

/// A password rotation through the real binary, against a TLS redis-server: the new password
/// added, the secret changed, the old password removed, the user's connections killed. No
/// invocation fails; the connection opened afterwards authenticates with the new password (the old
/// one no longer exists); the secret is read once more, and the metric line and one warn line say so.
@Suite(.serialized) struct RotationTests {
    static let oldPassword = "Old-Pass-0123456789abcdef"
    static let newPassword = "New-Pass-0123456789abcdef"

    struct Setup {
        let redis: RedisServer
        let secrets: RotatingSecretExtension
        let function: FunctionProcess
    }

    static func start(user: String, secret: String, password: String?, users: [RedisServer.User]) throws -> Setup {
        let certificates = try TLSCertificates.make()
        let redis = try RedisServer.start(RedisServer.Options(password: password, users: users, tls: certificates))
        let secrets = try RotatingSecretExtension(secretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis-\(user)", secret: secret)
        var environment = secrets.environment
        environment["REDIS_SSL"] = "true"
        environment["REDIS_TLS_CA_FILE"] = certificates.caCertificatePath
        let function = try FunctionProcess(redisPort: redis.port, environment: environment)
        return Setup(redis: redis, secrets: secrets, function: function)
    }

    static func userSecret(_ user: String, _ password: String) -> String {
        #"{"username":"\#(user)","password":"\#(password)","user_arn":"arn:aws:elasticache:eu-west-1:123456789012:user:\#(user)"}"#
    }

    /// Updates before, during and after the rotation; every one must succeed.
    /// `admin`: who runs the commands once the new password exists (the default user, when it is
    /// the one rotated, must use its new password after the old one is gone).
    static func rotate(_ setup: Setup, user: String, newSecret: String, admin: RedisServer.User? = nil) async throws {
        let function = setup.function
        var index = 0
        func update(_ step: String) async throws {
            try await function.expectUpdateWritten(index, step)
            index += 1
        }
        try await update("before")
        try await update("before")
        try setup.redis.cli("ACL", "SETUSER", user, ">" + newPassword)
        setup.secrets.rotate(to: newSecret)
        try await update("both passwords valid")
        try setup.redis.cli("ACL", "SETUSER", user, "<" + oldPassword, as: admin)
        try await update("old password removed, connection still open")
        #expect(try setup.redis.cli("CLIENT", "KILL", "USER", user, as: admin) != "0")
        try await update("connections killed")
        try await update("after")
        #expect(setup.secrets.reads == 2, "one read at cold start, one after WRONGPASS")
        let clients = try setup.redis.cli("CLIENT", "LIST", as: admin)
        #expect(clients.contains("user=\(user)"), "the function reconnected as \(user): \(clients)")
        let output = function.process.output()
        #expect(output.contains(#""AuthRefreshes":1"#), "\(function.diagnostics)")
        #expect(output.components(separatedBy: "Redis credentials read again from the secret").count == 2, "\(function.diagnostics)")
        #expect(!output.contains(oldPassword) && !output.contains(newPassword), "a password reached the output")
    }

    @Test func anACLUsersPasswordRotatesWithNoFailedInvocation() async throws {
        let user = RedisServer.User(name: "price-writer", password: Self.oldPassword, rules: ["~*", "+@all"])
        let setup = try Self.start(user: user.name, secret: Self.userSecret(user.name, Self.oldPassword), password: nil, users: [user])
        defer { setup.function.stop(); setup.secrets.stop() }
        try await Self.rotate(setup, user: user.name, newSecret: Self.userSecret(user.name, Self.newPassword))
    }

    @Test func theDefaultUsersRequirepassInAPlainSecretRotatesToo() async throws {
        let setup = try Self.start(user: "default", secret: Self.oldPassword, password: Self.oldPassword, users: [])
        defer { setup.function.stop(); setup.secrets.stop() }
        try await Self.rotate(setup, user: "default", newSecret: Self.newPassword, admin: RedisServer.User(name: "default", password: Self.newPassword))
    }

    /// `REDIS_AUTH_TOKEN` (local runs) is never read again: after a rotation, new connections fail
    /// with a clear authentication error, and no secret is asked for.
    @Test func aPlainTokenVariableFailsClearlyAfterARotation() async throws {
        let certificates = try TLSCertificates.make()
        let redis = try RedisServer.start(RedisServer.Options(password: Self.oldPassword, tls: certificates))
        let function = try FunctionProcess(
            redisPort: redis.port,
            environment: [
                "REDIS_SSL": "true", "REDIS_TLS_CA_FILE": certificates.caCertificatePath, "REDIS_AUTH_TOKEN": Self.oldPassword,
            ])
        defer { function.stop() }
        try await function.expectUpdateWritten(0, "before the rotation")
        try redis.cli("ACL", "SETUSER", "default", ">" + Self.newPassword, "<" + Self.oldPassword)
        #expect(try redis.cli("CLIENT", "KILL", "USER", "default", as: RedisServer.User(name: "default", password: Self.newPassword)) != "0")
        let after = try await function.update(1)
        #expect(after.errorType == "Function.RedisUnavailable", "\(after.text)")
        #expect(after.text.contains("authentication as user 'default' failed"), "\(after.text)")
        #expect(after.text.contains("WRONGPASS"), "\(after.text)")
        #expect(!after.text.contains(Self.oldPassword) && !function.process.output().contains(Self.oldPassword))
    }
}
