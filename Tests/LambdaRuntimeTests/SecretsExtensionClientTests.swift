import Foundation
import Testing
@testable import LambdaRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The client against a stand-in of the AWS Parameters and Secrets Lambda Extension: a real HTTP
/// server on a free loopback port that records each request and answers as scripted.
@Suite struct SecretsExtensionClientTests {
    static let sessionToken = "session-token-7f3a"
    static let secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prices/redis-auth-AbC123"
    static let secretValue = "a-redis-auth-token-of-32-characters!"

    func client(_ server: ExtensionStandIn, timeout: Duration = .seconds(2)) -> SecretsExtensionClient {
        SecretsExtensionClient(port: server.port, sessionToken: Self.sessionToken, timeout: timeout)
    }

    static func getSecretValueJSON(_ secret: String) -> String {
        #"{"ARN":"\#(secretARN)","CreatedDate":"2026-01-02T03:04:05Z","Name":"prices/redis-auth","SecretString":"\#(secret)","VersionId":"4d1c","VersionStages":["AWSCURRENT"]}"#
    }

    @Test func fetchesTheSecretStringWithTheSessionTokenHeader() throws {
        let server = try ExtensionStandIn { _ in (200, Self.getSecretValueJSON(Self.secretValue)) }
        defer { server.stop() }

        let secret = try client(server).secretString(id: Self.secretARN)

        #expect(secret == Self.secretValue)
        let request = try #require(server.requests.first)
        let encodedARN = "arn%3Aaws%3Asecretsmanager%3Aeu-west-1%3A123456789012%3Asecret%3Aprices%2Fredis-auth-AbC123"
        #expect(request.method == "GET")
        #expect(request.target == "/secretsmanager/get?secretId=\(encodedARN)")
        #expect(request.header("x-aws-parameters-secrets-token") == Self.sessionToken)
    }

    @Test func decodesJSONEscapesInTheSecret() throws {
        let server = try ExtensionStandIn { _ in (200, Self.getSecretValueJSON(#"quote\" slash\\ \u00e9"#)) }
        defer { server.stop() }
        #expect(try client(server).secretString(id: "prices/redis-auth") == "quote\" slash\\ é")
    }

    @Test func aRefusalCarriesTheStatusAndTheAWSErrorNameButNotTheBody() throws {
        let server = try ExtensionStandIn { _ in
            (400, #"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/prices is not authorized"}"#)
        }
        defer { server.stop() }

        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: Self.secretARN) }

        #expect(error?.kind == .rejected(status: 400))
        #expect(error?.message.contains("HTTP 400, AccessDeniedException") == true)
        #expect(error?.message.contains(Self.secretARN) == true)
        #expect(error?.message.contains("not authorized") == false, "the body's message is not quoted")
        #expect(error?.message.contains(Self.sessionToken) == false)
        #expect(error?.functionError.errorType == "Function.SecretUnavailable")
    }

    /// A stand-in that echoes its request back (headers included) in every place an error name
    /// could be read: the token must reach neither the message nor the error JSON that is logged.
    @Test(arguments: [
        "plain text",
        "json __type",
        "json message",
        "header",
    ])
    func anEchoingStandInCannotLeakTheSessionToken(echoIn place: String) throws {
        let server = try ExtensionStandIn { request in
            let echoed = request.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
            let token = request.header("x-aws-parameters-secrets-token") ?? ""
            switch place {
            case "plain text": return (403, "Forbidden\n" + echoed)
            case "json __type": return (403, #"{"__type":"\#(token)Exception"}"#)
            case "json message": return (400, #"{"__type":"AccessDeniedException","message":"\#(echoed.replacingOccurrences(of: "\n", with: " "))"}"#)
            default: return (403, "")
            }
        } headers: { request in
            place == "header" ? [HTTPHeader("X-Amzn-ErrorType", request.header("x-aws-parameters-secrets-token") ?? "")] : []
        }
        defer { server.stop() }

        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: "prices/redis-auth") }

        let message = try #require(error?.message)
        #expect(!message.contains(Self.sessionToken), "\(message)")
        #expect(!message.contains("7f3a"), "\(message)")
        let logged = String(decoding: try #require(error).functionError.jsonPayload, as: UTF8.self)
        #expect(!logged.contains(Self.sessionToken))
        #expect(message.contains("HTTP \(place == "json message" ? 400 : 403)"))
        #expect(!message.contains("Forbidden") && !message.contains("x-aws-parameters-secrets-token"), "no body bytes: \(message)")
    }

    @Test func theErrorNameMayComeFromTheErrorTypeHeader() throws {
        let server = try ExtensionStandIn { _ in
            (400, "an unexpected error occurred while executing request")
        } headers: { _ in
            [HTTPHeader("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.secretsmanager/")]
        }
        defer { server.stop() }
        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: "x") }
        #expect(error?.message.contains("HTTP 400, ResourceNotFoundException") == true)
        #expect(error?.message.contains("unexpected error") == false)
    }

    @Test(
        arguments: [
            (#"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"m"}"#, "ResourceNotFoundException"),
            (#"{"__type":"InternalFailure"}"#, nil),
            (#"{"__type":"Access Denied Exception"}"#, nil),
            (#"{"__type":"Exception"}"#, nil),
            (#"{"code":"DecryptionFailureException"}"#, "DecryptionFailureException"),
            ("400 Bad Request: an unexpected error occurred while executing request", nil),
            ("", nil),
        ] as [(String, String?)])
    func onlyAnAWSErrorNameIsKept(body: String, expected: String?) {
        #expect(SecretsExtensionRefusal.errorName(body: Array(body.utf8), errorTypeHeader: nil) == expected)
    }

    @Test func aBinarySecretIsRefusedWithoutQuotingTheAnswer() throws {
        let server = try ExtensionStandIn { _ in (200, #"{"Name":"blob","SecretBinary":"c2VjcmV0LWJ5dGVz"}"#) }
        defer { server.stop() }
        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: "blob") }
        #expect(error?.kind == .invalidResponse)
        #expect(error?.message.contains("c2VjcmV0") == false)
    }

    @Test func aMalformedAnswerIsRefusedWithoutQuotingIt() throws {
        let server = try ExtensionStandIn { _ in (200, #"{"SecretString":"half-a-secret"#) }
        defer { server.stop() }
        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: "x") }
        #expect(error?.kind == .invalidResponse)
        #expect(error?.message.contains("half-a-secret") == false)
    }

    @Test func anOversizedAnswerIsRefused() throws {
        let huge = String(repeating: "x", count: SecretsExtensionClient.largestExpectedBody + 10)
        let server = try ExtensionStandIn { _ in (200, Self.getSecretValueJSON(huge)) }
        defer { server.stop() }
        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: "x") }
        #expect(error?.kind == .invalidResponse)
    }

    @Test func nothingListeningIsUnreachableOnceTheTimeoutIsSpent() throws {
        let port = try ExtensionStandIn.unusedPort()
        let client = SecretsExtensionClient(port: port, sessionToken: Self.sessionToken, timeout: .milliseconds(300))
        let started = ContinuousClock.now
        let error = #expect(throws: SecretsExtensionError.self) { try client.secretString(id: "x") }
        #expect(error?.kind == .unreachable)
        // Refusals are retried (the extension may still be starting), but not past the timeout.
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func anExtensionThatStartsLateIsWaitedFor() throws {
        let port = try ExtensionStandIn.unusedPort()
        let testDone = DispatchSemaphore(value: 0)
        defer { testDone.signal() }
        Thread {
            usleep(200_000)
            let server = try? ExtensionStandIn(port: port) { _ in (200, Self.getSecretValueJSON("late")) }
            testDone.wait()
            server?.stop()
        }.start()
        let client = SecretsExtensionClient(port: port, sessionToken: Self.sessionToken, timeout: .seconds(3))
        #expect(try client.secretString(id: "x") == "late")
    }

    @Test func anExtensionThatNeverAnswersTimesOut() throws {
        let server = try ExtensionStandIn { _ in nil }
        defer { server.stop() }
        let error = #expect(throws: SecretsExtensionError.self) {
            try client(server, timeout: .milliseconds(300)).secretString(id: "x")
        }
        #expect(error?.kind == .timeout)
    }

    @Test func configurationComesFromLambdasEnvironment() throws {
        let defaults = try SecretsExtensionClient.fromEnvironment(["AWS_SESSION_TOKEN": "t"])
        #expect(defaults.port == 2773)
        let moved = try SecretsExtensionClient.fromEnvironment(["AWS_SESSION_TOKEN": "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "9009"])
        #expect(moved.port == 9009)

        for broken in [
            [:], ["AWS_SESSION_TOKEN": ""], ["AWS_SESSION_TOKEN": "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "http"],
            ["AWS_SESSION_TOKEN": "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "0"],
        ] {
            let error = #expect(throws: SecretsExtensionError.self) { try SecretsExtensionClient.fromEnvironment(broken) }
            #expect(error?.kind == .configuration)
        }
    }

    @Test func anEnvironmentVariableNamingASecretIsResolvedIntoAnother() throws {
        let server = try ExtensionStandIn { _ in (200, Self.getSecretValueJSON(Self.secretValue)) }
        defer { server.stop() }
        let environment = [
            "AWS_SESSION_TOKEN": Self.sessionToken, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "\(server.port)",
            "REDIS_AUTH_SECRET_ARN": Self.secretARN, "REDIS_HOST": "cache",
        ]

        let resolved = try SecretsExtensionClient.environment(environment, resolvingSecretIn: "REDIS_AUTH_SECRET_ARN", into: "REDIS_AUTH_TOKEN")

        #expect(resolved["REDIS_AUTH_TOKEN"] == Self.secretValue)
        #expect(resolved["REDIS_HOST"] == "cache")
    }

    @Test func withoutASecretIdThePlainValueStays() throws {
        let environment = ["REDIS_AUTH_TOKEN": "local-token"]
        let resolved = try SecretsExtensionClient.environment(environment, resolvingSecretIn: "REDIS_AUTH_SECRET_ARN", into: "REDIS_AUTH_TOKEN")
        #expect(resolved == environment)
    }

    @Test func aSecretIdAndAPlainValueTogetherAreRefused() throws {
        let environment = ["AWS_SESSION_TOKEN": "t", "REDIS_AUTH_SECRET_ARN": "id", "REDIS_AUTH_TOKEN": "local-token"]
        let error = #expect(throws: SecretsExtensionError.self) {
            try SecretsExtensionClient.environment(environment, resolvingSecretIn: "REDIS_AUTH_SECRET_ARN", into: "REDIS_AUTH_TOKEN")
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("local-token") == false)
    }
}

/// The extension's stand-in: the runtime's `LoopbackHTTPServer` on 127.0.0.1 answering as scripted
/// (`answer` returns (status, body), or nil to hold the request unanswered until `stop`).
///
/// The client asks for `localhost`, which libcurl tries on ::1 first: the same port is also bound
/// on ::1, without listening, so that a connection there is refused at once (and libcurl moves on
/// to 127.0.0.1) and no other process can listen on that port number meanwhile.
final class ExtensionStandIn: Sendable {
    let port: UInt16
    private let server: LoopbackHTTPServer
    private let ipv6Reservation: Int32?
    private let recorded = LockedState<[HTTPRequest]>([])
    private let stopped = DispatchSemaphore(value: 0)

    var requests: [HTTPRequest] { recorded.withLock { $0 } }

    init(
        port: UInt16 = 0, answer: @escaping @Sendable (HTTPRequest) -> (Int, String)?,
        headers: @escaping @Sendable (HTTPRequest) -> [HTTPHeader] = { _ in [] }
    ) throws {
        let recorded = self.recorded, stopped = self.stopped
        let responder: LoopbackHTTPServer.Responder = { request in
            recorded.withLock { $0.append(request) }
            guard let (status, body) = answer(request) else {
                stopped.wait()
                stopped.signal()  // wake the next held request too
                return HTTPResponse(status: 503)
            }
            return .json(status, Array(body.utf8), headers: headers(request))
        }
        for _ in 0..<20 {
            let server = try LoopbackHTTPServer(port: port, maximumBodySize: 64 * 1024, responder: responder)
            switch Self.reserveOnIPv6Loopback(server.port) {
            case .reserved(let socket):
                (self.server, self.port, self.ipv6Reservation) = (server, server.port, socket)
                return
            case .noIPv6:
                (self.server, self.port, self.ipv6Reservation) = (server, server.port, nil)
                return
            case .taken:
                server.stop()
                if port != 0 { throw POSIXError(.EADDRINUSE) }
            }
        }
        throw POSIXError(.EADDRINUSE)
    }

    func stop() {
        stopped.signal()
        server.stop()
        if let ipv6Reservation { close(ipv6Reservation) }
    }

    /// A port nothing listens on.
    static func unusedPort() throws -> UInt16 {
        let probe = try ExtensionStandIn { _ in nil }
        probe.stop()
        return probe.port
    }

    private enum IPv6Reservation {
        case reserved(Int32)
        case taken
        case noIPv6
    }

    /// Binds [::1]:port without listening.
    private static func reserveOnIPv6Loopback(_ port: UInt16) -> IPv6Reservation {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .noIPv6 }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = in6addr_loopback
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        if bound == 0 { return .reserved(fd) }
        let failure = errno
        close(fd)
        return failure == EADDRINUSE ? .taken : .noIPv6
    }
}
