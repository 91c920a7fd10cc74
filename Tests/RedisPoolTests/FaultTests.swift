import Foundation
@testable import RedisPool
import TestSupport
import Testing

@Suite struct FaultTests {
    let server: RedisServer

    init() throws {
        server = try RedisServer.start()
    }

    @Test func connectTimeoutAgainstAPortThatNeverAnswers() throws {
        let unanswered = try UnansweredPort()
        let client = try RedisClient(
            configuration: RedisConfiguration(
                endpoint: "127.0.0.1", port: unanswered.port, useTLS: false, timeout: .milliseconds(200)
            ))
        let start = ContinuousClock.now
        let error = caught { try client.command(RedisCommand("PING")) }
        #expect(error?.kind == .timeout)
        #expect(error?.message.contains("connecting") == true)
        #expect(milliseconds(since: start) < 1500)  // one retry of a timeout, not more

        // With a 3 s connect timeout only the caller's 150 ms deadline can end this wait early: the
        // bound sits far from both, so a loaded machine cannot flip the verdict.
        let patient = try RedisClient(
            configuration: RedisConfiguration(
                endpoint: "127.0.0.1", port: unanswered.port, useTLS: false, timeout: .seconds(3)
            ))
        let deadlineStart = ContinuousClock.now
        let bounded = caught { try patient.command(RedisCommand("PING"), deadline: .now.advanced(by: .milliseconds(150))) }
        #expect(bounded?.kind == .deadlineExceeded)
        #expect(milliseconds(since: deadlineStart) < 1500)
    }

    @Test func connectionRefusedIsRetriedThenReported() throws {
        let port = try freeLoopbackPort()
        let client = try RedisClient(configuration: RedisConfiguration(endpoint: "127.0.0.1", port: port, useTLS: false))
        let error = caught { try client.command(RedisCommand("PING")) }
        #expect(error?.kind == .connectFailed)
        #expect(error?.message.contains("\(port)") == true)
    }

    @Test func unknownHostIsAConnectFailure() throws {
        let client = try RedisClient(configuration: RedisConfiguration(endpoint: "no-such-host.invalid", useTLS: false))
        #expect(caught { try client.command(RedisCommand("PING"), deadline: .now.advanced(by: .milliseconds(300))) } != nil)
    }

    @Test func commandTimeoutClosesTheConnectionAndRetriesOnlyIdempotentCommands() throws {
        let client = try server.client(timeout: .milliseconds(250))
        try client.command(RedisCommand("SET", "counter", "0"))
        // Two warm connections, so each command below meets the stall waiting for its reply (a
        // new connection would meet it in the handshake, which is never tried twice).
        let first = try client.pool.lease(callerDeadline: nil)
        let second = try client.pool.lease(callerDeadline: nil)
        client.pool.giveBack(first)
        client.pool.giveBack(second)
        try server.resetStatistics()
        let server = server
        inBackground { _ = try? server.cli("DEBUG", "SLEEP", "1.5") }
        Thread.sleep(forTimeInterval: 0.1)

        let increment = caught { try client.command(RedisCommand("INCR", "counter")) }
        #expect(increment?.kind == .timeout)
        #expect(client.statistics.retries.isEmpty)  // INCR is not retried (counted, not timed)

        let readStart = ContinuousClock.now
        let read = caught { try client.command(RedisCommand("GET", "counter")) }
        #expect(read?.kind == .timeout)
        #expect(milliseconds(since: readStart) >= 450)  // GET is retried once: two timeouts
        #expect(client.statistics.retries == [.replyTimeout: 1])

        Thread.sleep(forTimeInterval: 1.0)
        // The timed-out connections were closed: late replies cannot reach the next caller.
        #expect(try client.command(RedisCommand("GET", "counter")) == .bulk("1"))
        #expect(try server.calls(of: "incr") == 1)
    }

    @Test func callerDeadlineShorterThanTheTimeoutWins() throws {
        let client = try server.client(timeout: .seconds(3))
        try client.command(RedisCommand("PING"))
        let server = server
        inBackground { _ = try? server.cli("DEBUG", "SLEEP", "2") }
        Thread.sleep(forTimeInterval: 0.1)
        let start = ContinuousClock.now
        let error = caught { try client.command(RedisCommand("GET", "k"), deadline: .now.advanced(by: .milliseconds(100))) }
        #expect(error?.kind == .deadlineExceeded)
        // Halfway to the end of the 2 s sleep: tells the deadline from the reply, even under load.
        #expect(milliseconds(since: start) < 1000)
        #expect(caught { try client.command(RedisCommand("GET", "k"), deadline: .now.advanced(by: .milliseconds(-1))) }?.kind == .deadlineExceeded)
    }

    @Test func killedServerThenRestartedIsReconnected() throws {
        let client = try server.client(timeout: .milliseconds(500))
        try client.command(RedisCommand("SET", "k", "before"))
        server.kill()
        let error = caught { try client.command(RedisCommand("GET", "k")) }
        #expect(error?.kind == .connectFailed || error?.kind == .connectionClosed)
        try server.restart()
        #expect(try client.command(RedisCommand("SET", "k", "after")) == .simpleString("OK"))
        #expect(try client.command(RedisCommand("GET", "k")) == .bulk("after"))
    }

    @Test func restartWhileIdleIsInvisibleToTheCaller() throws {
        let client = try server.client()
        try client.command(RedisCommand("PING"))
        server.stop()
        try server.restart()
        // The pooled connection saw EOF while idle: discarded on borrow, even for INCR.
        #expect(try client.command(RedisCommand("INCR", "fresh")) == .integer(1))
    }

    @Test func clientKillOfPooledConnectionsIsRecoveredOnBorrow() throws {
        let client = try server.client()
        onThreads(4) { _ in _ = try? client.command(RedisCommand("BLPOP", "nothing", "0.1")) }
        #expect(client.pool.openCount == 4)
        try server.cli("CLIENT", "KILL", "TYPE", "normal")
        Thread.sleep(forTimeInterval: 0.05)
        #expect(try client.command(RedisCommand("INCR", "n")) == .integer(1))  // not idempotent: must not need a retry
        #expect(client.pool.openCount == 1)
    }

    @Test func frozenServerTimesOutThenRecovers() throws {
        let client = try server.client(timeout: .milliseconds(200))
        try client.command(RedisCommand("SET", "k", "v"))
        server.pause()
        let error = caught { try client.command(RedisCommand("GET", "k")) }
        server.resume()
        #expect(error?.kind == .timeout)
        #expect(try client.command(RedisCommand("GET", "k")) == .bulk("v"))
    }

    @Test func readOnlyDropsIdleConnectionsAndReconnectsOnce() throws {
        let client = try server.client()
        onThreads(3) { _ in _ = try? client.command(RedisCommand("BLPOP", "nothing", "0.1")) }
        #expect(client.pool.openCount == 3)
        try server.resetStatistics()
        let error = caught { try client.command(RedisCommand("DEBUG", "ERROR", "READONLY You can't write against a read only replica.")) }
        #expect(error?.kind == .server(code: "READONLY"))
        #expect(try server.calls(of: "debug") == 2)
        #expect(client.pool.openCount == 0)  // both READONLY connections discarded, idle ones closed
        #expect(try client.command(RedisCommand("PING")) == .simpleString("PONG"))
    }

    @Test func loadingIsRetriedWithBackoffWithinTheDeadline() throws {
        let client = try server.client()
        try server.resetStatistics()
        let start = ContinuousClock.now
        let error = caught { try client.command(RedisCommand("DEBUG", "ERROR", "LOADING Redis is loading the dataset in memory")) }
        #expect(error?.kind == .server(code: "LOADING"))
        #expect(try server.calls(of: "debug") == RetryPolicy.maximumAttempts)
        #expect(milliseconds(since: start) >= 200)  // backoff: at least 5 + 20 + 80 + 320 ms / 2... jittered

        try server.resetStatistics()
        let bounded = caught {
            try client.command(RedisCommand("DEBUG", "ERROR", "LOADING Redis is loading"), deadline: .now.advanced(by: .milliseconds(150)))
        }
        #expect(bounded?.kind == .server(code: "LOADING"))
        #expect(try server.calls(of: "debug") < RetryPolicy.maximumAttempts)
    }

    @Test func pipelineRetriesWhenNothingRan() throws {
        let client = try server.client()
        try server.resetStatistics()
        let results = try client.pipeline([
            RedisCommand("DEBUG", "ERROR", "BUSY script running"),
            RedisCommand("DEBUG", "ERROR", "TRYAGAIN later"),
        ])
        #expect(caughtResult(results[0])?.kind == .server(code: "BUSY"))
        #expect(caughtResult(results[1])?.kind == .server(code: "TRYAGAIN"))
        #expect(try server.calls(of: "debug") == 2 * RetryPolicy.maximumAttempts)
    }

    @Test func clusterRedirectSaysClusterModeIsUnsupported() throws {
        let client = try server.client()
        let error = caught { try client.command(RedisCommand("DEBUG", "ERROR", "MOVED 3999 127.0.0.1:6381")) }
        #expect(error?.kind == .clusterRedirect)
        #expect(error?.message.contains("cluster mode") == true)
    }

    @Test func elevenBorrowersOnAPoolOfTenOneGetsPoolExhausted() throws {
        var configuration = server.configuration(timeout: .seconds(3), poolMaximum: 10)
        configuration.poolWaitTimeout = .milliseconds(300)
        let client = try RedisClient(configuration: configuration)
        let outcomes = Observations<RedisError.Kind?>()
        onThreads(11) { _ in
            let error = caught { try client.command(RedisCommand("BLPOP", "empty", "1")) }
            outcomes.append(error?.kind)
        }
        let kinds = outcomes.all
        #expect(kinds.filter { $0 == nil }.count == 10)
        #expect(kinds.filter { $0 == .poolExhausted }.count == 1)
        #expect(client.pool.openCount == 10)
    }

    @Test func longIdleConnectionsArePingedBeforeReuse() throws {
        var configuration = server.configuration()
        configuration.pingAfterIdle = .zero
        let client = try RedisClient(configuration: configuration)
        try client.command(RedisCommand("GET", "a"))
        try server.resetStatistics()
        try client.command(RedisCommand("GET", "a"))
        #expect(try server.calls(of: "ping") == 1)
    }
}
