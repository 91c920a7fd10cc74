import Foundation
@testable import RedisPool
import TestSupport
import Testing

/// Records every observer event, for checking what the client reported.
final class RecordingObserver: RedisClientObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []

    var events: [String] { lock.withLock { recorded } }

    private func record(_ event: String) { lock.withLock { recorded.append(event) } }

    func connectFailed(endpoint: String, error: RedisError) { record("connectFailed \(error.kind)") }
    func keepAliveFailed(endpoint: String) { record("keepAliveFailed") }
    func connectionClosed(endpoint: String, error: RedisError) { record("connectionClosed \(error.kind)") }
    func retrying(reason: RedisRetryReason, attempt: Int, after error: RedisError) { record("retrying \(reason.rawValue) \(attempt)") }
    func reconnected(endpoint: String) { record("reconnected") }
    func staleConnectionDiscarded(endpoint: String) { record("staleConnectionDiscarded") }
    func readOnlyRecovery(endpoint: String, error: RedisError) { record("readOnlyRecovery") }
    func credentialsRefreshed(username: String, changed: Bool) { record("credentialsRefreshed \(username) \(changed)") }
    func credentialsRefreshFailed(error: RedisError) { record("credentialsRefreshFailed") }
}

/// Credentials the test changes, as a rotation changes the secret.
final class RotatingCredentials: RedisCredentialsProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var current: RedisCredentials
    private var readCount = 0

    init(_ credentials: RedisCredentials) { current = credentials }

    var reads: Int { lock.withLock { readCount } }

    func set(_ credentials: RedisCredentials) { lock.withLock { current = credentials } }

    func currentCredentials() throws(RedisError) -> RedisCredentials {
        lock.withLock {
            readCount += 1
            return current
        }
    }
}

/// The cause of the 10 s stall of the fault suite, at the client's level: a peer that accepts the
/// connection and never answers. The handshake's timeout is not tried again on a second
/// connection (which would wait out a second timeout against the same silent peer).
@Suite struct SilentPeerTests {
    @Test func aHandshakeThatTimesOutIsNotRetried() throws {
        let peer = try SilentPeer()
        defer { peer.stop() }
        let observer = RecordingObserver()
        let client = try RedisClient(
            configuration: RedisConfiguration(endpoint: "127.0.0.1", port: peer.port, useTLS: false, timeout: .milliseconds(300)),
            observer: observer
        )
        let error = caught { try client.command(RedisCommand("GET", "k")) }
        #expect(error?.kind == .timeout, "\(String(describing: error))")
        #expect(peer.acceptedCount == 1, "the silent peer was connected to \(peer.acceptedCount) times")
        #expect(client.statistics.totalRetries == 0)
        #expect(observer.events == ["connectFailed timeout"])
    }
}

@Suite struct RecoveryTests {
    static let user = RedisServer.User(name: "writer", password: "Writer-Pass-0000000001", rules: ["~*", "+@all"])
    static let rotated = "Writer-Pass-0000000002"

    @Test func aRotatedPasswordIsReadAgainOnceAndOpenConnectionsKeepWorking() throws {
        let server = try RedisServer.start(RedisServer.Options(users: [Self.user]))
        let provider = RotatingCredentials(RedisCredentials(username: Self.user.name, password: Self.user.password))
        let observer = RecordingObserver()
        let configuration = RedisConfiguration(
            endpoint: server.host, port: server.port, useTLS: false, username: Self.user.name, authToken: Self.user.password, poolMaximum: 2
        )
        let client = try RedisClient(configuration: configuration, credentialsProvider: provider, observer: observer)
        #expect(try client.command(RedisCommand("SET", "k", "1")) == .simpleString("OK"))

        // Rotation: the new password added, the secret updated, the old password removed. The
        // open connection keeps working (Redis checks passwords at AUTH only).
        try server.cli("ACL", "SETUSER", Self.user.name, ">" + Self.rotated)
        provider.set(RedisCredentials(username: Self.user.name, password: Self.rotated))
        try server.cli("ACL", "SETUSER", Self.user.name, "<" + Self.user.password)
        #expect(try client.command(RedisCommand("GET", "k")) == .bulk("1"))
        #expect(provider.reads == 0)

        // The server drops the user's connections: the next open meets WRONGPASS, reads again.
        try server.cli("CLIENT", "KILL", "USER", Self.user.name)
        #expect(try client.command(RedisCommand("GET", "k")) == .bulk("1"))
        #expect(provider.reads == 1)
        let statistics = client.statistics
        #expect(statistics.authRefreshes == 1)
        #expect(statistics.retries == [.credentialsRejected: 1])
        #expect(statistics.staleConnectionsDiscarded == 1)
        #expect(observer.events.contains("credentialsRefreshed writer true"))
        #expect(!observer.events.joined().contains(Self.rotated))
        #expect(!observer.events.joined().contains(Self.user.password))

        // Another rotation within 10 s: no second read, a clear authentication error.
        try server.cli("ACL", "SETUSER", Self.user.name, ">Writer-Pass-0000000003", "<" + Self.rotated)
        try server.cli("CLIENT", "KILL", "USER", Self.user.name)
        let error = caught { try client.command(RedisCommand("GET", "k")) }
        #expect(error?.kind == .authentication)
        #expect(provider.reads == 1)
    }

    @Test func writesRefusedInsideAScriptReplyByADemotedPrimaryReachTheRecovery() throws {
        let primary = try RedisServer.start()
        let other = try RedisServer.start()
        let client = try RedisClient(configuration: primary.configuration(), observer: RecordingObserver())
        let script = RedisScript("return {redis.pcall('SET', KEYS[1], ARGV[1]), redis.pcall('SET', KEYS[2], ARGV[1])}", isIdempotent: true)
        let written = try client.run(script, keys: [Array("a".utf8), Array("b".utf8)], arguments: [Array("1".utf8)])
        #expect(written == .array([.simpleString("OK"), .simpleString("OK")]))

        // The node becomes a replica: every write inside the script answers READONLY.
        try primary.cli("REPLICAOF", other.host, String(other.port))
        let refused = try client.run(script, keys: [Array("a".utf8), Array("b".utf8)], arguments: [Array("2".utf8)])
        guard case .array(let elements) = refused, case .error(let text) = elements.first else {
            Issue.record("expected per-write errors, got \(refused)")
            return
        }
        #expect(text.hasPrefix("READONLY"))
        let statistics = client.statistics
        #expect(statistics.readOnlyRecoveries == 1)
        #expect(statistics.retries == [.readOnly: 1])
        #expect(statistics.reconnects == 1)
        #expect(try primary.calls(of: "evalsha") == 3)  // the first, the refused one, its one retry
    }
}

@Suite struct RecoveryDecisionTests {
    @Test(arguments: ["READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS"])
    func nodeLevelRefusals(_ code: String) {
        #expect(NodeRefusal.isNodeLevel(RedisError.fromReply("\(code) something")))
        let reply = RESPValue.array([.integer(1), .error("\(code) something")])
        #expect(NodeRefusal.reason(in: reply)?.kind == .server(code: code))
    }

    @Test(arguments: ["OOM command not allowed", "WRONGTYPE Operation against a key", "ERR syntax", "NOSCRIPT x"])
    func perKeyOrLastingErrorsAreNotNodeLevel(_ text: String) {
        #expect(!NodeRefusal.isNodeLevel(RedisError.fromReply(text)))
        #expect(NodeRefusal.reason(in: .array([.integer(0), .error(text)])) == nil)
        #expect(NodeRefusal.reason(in: .error("READONLY x")) == nil)  // a whole-reply error is the client's own path
    }

    @Test func oneCredentialsReadPerTenSecondsWhateverTheLoad() {
        var policy = CredentialRefreshPolicy()
        let start = ContinuousClock.now
        #expect(policy.decide(attemptGeneration: 0, now: start) == .refresh)
        policy.refreshed(changed: true)
        // Attempts that began with the old credentials retry with the new ones, without a read.
        #expect(policy.decide(attemptGeneration: 0, now: start + .seconds(1)) == .retryWithNewer)
        // Refused again with the new ones within 10 s: no read.
        #expect(policy.decide(attemptGeneration: 1, now: start + .seconds(9)) == .fail)
        #expect(policy.decide(attemptGeneration: 1, now: start + .seconds(10)) == .refresh)
        policy.refreshed(changed: false)
        #expect(policy.generation == 1)
        #expect(policy.decide(attemptGeneration: 1, now: start + .seconds(11)) == .fail)
    }

    @Test func retryReasons() {
        #expect(RetryPolicy.reason(for: RedisError(.timeout, ""), at: .connecting) == .connectTimeout)
        #expect(RetryPolicy.reason(for: RedisError(.timeout, ""), at: .awaitingReply) == .replyTimeout)
        #expect(RetryPolicy.reason(for: RedisError(.connectFailed, ""), at: .connecting) == .connectFailed)
        #expect(RetryPolicy.reason(for: RedisError(.connectionClosed, ""), at: .sending) == .connectionLost)
        #expect(RetryPolicy.reason(for: RedisError(.connectionClosed, ""), at: .handshaking) == .connectFailed)
        #expect(RetryPolicy.reason(for: RedisError.fromReply("READONLY x"), at: .replied) == .readOnly)
        #expect(RetryPolicy.reason(for: RedisError.fromReply("LOADING x"), at: .replied) == .serverBusy)
        #expect(RetryPolicy.reason(for: RedisError(.authentication, ""), at: .handshaking, credentialsRejected: true) == .credentialsRejected)
    }
}
