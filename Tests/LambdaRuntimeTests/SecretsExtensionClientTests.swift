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
        #expect(request.requestLine == "GET /secretsmanager/get?secretId=\(encodedARN) HTTP/1.1")
        #expect(request.header("x-aws-parameters-secrets-token") == Self.sessionToken)
    }

    @Test func decodesJSONEscapesInTheSecret() throws {
        let server = try ExtensionStandIn { _ in (200, Self.getSecretValueJSON(#"quote\" slash\\ \u00e9"#)) }
        defer { server.stop() }
        #expect(try client(server).secretString(id: "prices/redis-auth") == "quote\" slash\\ é")
    }

    @Test func aRefusalCarriesTheStatusAndTheExtensionsReasonButNoCredential() throws {
        let server = try ExtensionStandIn { _ in
            (400, "AccessDeniedException: User is not authorized to perform secretsmanager:GetSecretValue")
        }
        defer { server.stop() }

        let error = #expect(throws: SecretsExtensionError.self) { try client(server).secretString(id: Self.secretARN) }

        #expect(error?.kind == .rejected(status: 400))
        #expect(error?.message.contains("AccessDeniedException") == true)
        #expect(error?.message.contains(Self.secretARN) == true)
        #expect(error?.message.contains(Self.sessionToken) == false)
        #expect(error?.functionError.errorType == "Function.SecretUnavailable")
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

        for broken in [[:], ["AWS_SESSION_TOKEN": ""], ["AWS_SESSION_TOKEN": "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "http"],
                       ["AWS_SESSION_TOKEN": "t", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "0"]] {
            let error = #expect(throws: SecretsExtensionError.self) { try SecretsExtensionClient.fromEnvironment(broken) }
            #expect(error?.kind == .configuration)
        }
    }

    @Test func anEnvironmentVariableNamingASecretIsResolvedIntoAnother() throws {
        let server = try ExtensionStandIn { _ in (200, Self.getSecretValueJSON(Self.secretValue)) }
        defer { server.stop() }
        let environment = ["AWS_SESSION_TOKEN": Self.sessionToken, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "\(server.port)",
                           "REDIS_AUTH_SECRET_ARN": Self.secretARN, "REDIS_HOST": "cache"]

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

/// A one-request-per-connection HTTP/1.1 server standing in for the extension. It listens on the
/// same port on 127.0.0.1 and on ::1 (when the machine has IPv6), because the client asks for
/// `localhost` and libcurl tries ::1 first: a stranger on ::1 must never answer in its place.
/// `answer` returns (status, body), or nil to accept the request and never answer.
final class ExtensionStandIn: @unchecked Sendable {
    struct Request {
        let requestLine: String
        let headers: [(name: String, value: String)]
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
    }

    let port: UInt16
    private let listeners: [Int32]
    private let answer: @Sendable (Request) -> (Int, String)?
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var held: [Int32] = []

    var requests: [Request] { lock.withLock { recorded } }

    init(port: UInt16 = 0, answer: @escaping @Sendable (Request) -> (Int, String)?) throws {
        self.answer = answer
        (listeners, self.port) = try Self.listenOnLoopback(port: port)
        Thread { [self] in acceptLoop() }.start()
    }

    func stop() {
        lock.withLock {
            for listener in listeners { shutdown(listener, Int32(SHUT_RDWR)) }
            held.forEach { close($0) }
        }
    }

    /// A port nothing listens on (bound on both loopback addresses, then released).
    static func unusedPort() throws -> UInt16 {
        let (sockets, port) = try listenOnLoopback(port: 0)
        sockets.forEach { close($0) }
        return port
    }

    private static func listenOnLoopback(port: UInt16) throws -> ([Int32], UInt16) {
        for _ in 0..<50 {
            let ipv4 = try listen(family: AF_INET, port: port)
            let ipv4Port = try boundPort(ipv4)
            let ipv6 = try? listen(family: AF_INET6, port: ipv4Port)
            if let ipv6 { return ([ipv4, ipv6], ipv4Port) }
            close(ipv4)
            // No IPv6 on this machine: 127.0.0.1 alone is then what `localhost` reaches.
            if errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT { return ([try listen(family: AF_INET, port: ipv4Port)], ipv4Port) }
            if port != 0 { break }  // a fixed port that is taken on ::1: give up
        }
        throw POSIXError(.EADDRINUSE)
    }

    private static func listen(family: Int32, port: UInt16) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EAFNOSUPPORT) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var result: Int32
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = in6addr_loopback
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard result == 0, Glibc.listen(fd, 16) == 0 else {
            let failure = errno
            close(fd)
            errno = failure
            throw POSIXError(.EADDRINUSE)
        }
        return fd
    }

    private static func boundPort(_ fd: Int32) throws -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    private func acceptLoop() {
        var pollSet = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while poll(&pollSet, nfds_t(pollSet.count), -1) > 0 {
            for entry in pollSet where entry.revents != 0 {
                let connection = accept(entry.fd, nil, nil)
                guard connection >= 0 else {  // shut down by stop()
                    listeners.forEach { close($0) }
                    return
                }
                serve(connection)
            }
        }
    }

    private func serve(_ connection: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.ends(with: Array("\r\n\r\n".utf8)) {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { close(connection); return }
            received.append(contentsOf: buffer[0..<count])
        }
        let lines = String(decoding: received, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let request = Request(requestLine: lines.first ?? "", headers: headers)
        lock.withLock { recorded.append(request) }

        guard let (status, body) = answer(request) else {
            lock.withLock { held.append(connection) }
            return
        }
        let bodyBytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status) Status\r\nContent-Type: application/json\r\nContent-Length: \(bodyBytes.count)\r\nConnection: close\r\n\r\n"
        let reply = Array(head.utf8) + bodyBytes
        var sent = 0
        while sent < reply.count {
            let count = reply[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            sent += count
        }
        close(connection)
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
