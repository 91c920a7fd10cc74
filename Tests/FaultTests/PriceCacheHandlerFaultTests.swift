import Foundation
import Testing
import TestSupport

/// The built PriceCacheHandler, as a process, against a real redis-server and a Runtime API on
/// loopback, while things go wrong: Redis absent, killed, frozen; the Runtime API failing; bad
/// configuration; tight deadlines; a long run of good and bad events. Serialized: the timing
/// checks should not compete with each other for the two cores. Every wait happens on a thread of
/// its own (`FunctionProcess.call`, `onOwnThread`), never on Swift's cooperative threads.
@Suite(.serialized) struct PriceCacheHandlerFaultTests {
    @Test func redisAbsentAtStartThenStarted() async throws {
        let redis = try RedisServer.start()
        redis.kill()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }

        let whileAbsent = try await function.update(1)
        #expect(whileAbsent.kind == .error)
        #expect(whileAbsent.errorType == "Function.RedisUnavailable", "\(whileAbsent.text)")

        try redis.restart()
        try await function.expectUpdateWritten(2, "after the start")
        #expect(function.process.isRunning, "the same process serves both: \(function.diagnostics)")
        #expect(try redis.cli("HGET", "price:FAULT", "timestamp").contains("1697658002"))
    }

    @Test func redisKilledMidStreamAndRestartedOnTheSamePort() async throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }

        for index in 0..<5 {
            try await function.expectUpdateWritten(index, "before the kill")
        }
        redis.kill()
        for index in 5..<8 {
            let answer = try await function.update(index)
            #expect(answer.errorType == "Function.RedisUnavailable", "\(answer.text)")
        }
        try redis.restart()
        for index in 8..<13 {
            try await function.expectUpdateWritten(index, "after the restart")
        }
        #expect(function.process.isRunning, "\(function.diagnostics)")
    }

    @Test func redisFrozenAnswersAnErrorWithinTheTimeoutThenRecovers() async throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port, environment: ["REDIS_TIMEOUT_MS": "1000"])
        defer { function.stop() }
        try await function.expectUpdateWritten(1, "warm")

        redis.pause()
        let started = ContinuousClock.now
        let frozen = try await function.update(2)
        redis.resume()
        #expect(frozen.kind == .error)
        #expect(frozen.errorType?.hasPrefix("Function.") == true, "\(frozen.text)")
        // Not a timing test: the script is idempotent, so its lost reply is retried once (RetryPolicy): about two
        // 1 s timeouts, 2 s. The failures this catches are the 5 s default timeout (REDIS_TIMEOUT_MS ignored:
        // 10 s) or none at all (no answer within `update`'s 10 s); 6 s sits far from both on a loaded host.
        #expect(frozen.receivedAt - started < .milliseconds(6000), "answered after \(frozen.receivedAt - started)")

        try await function.expectUpdateWritten(3, "thawed")
    }

    @Test func deadlineIsHonouredWhileRedisIsFrozen() async throws {
        let redis = try RedisServer.start()
        // The 5 s default timeout is far beyond the deadline: only the deadline can stop the wait.
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        try await function.expectUpdateWritten(1, "warm")

        redis.pause()
        defer { redis.resume() }
        let started = ContinuousClock.now
        let requestID = function.api.invoke(FaultEvents.goodUpdate(2), deadlineIn: .seconds(1))
        let api = function.api
        let waited = await onOwnThread { api.answer(to: requestID, timeout: .seconds(6)) }
        let answer = try #require(waited, "\(function.diagnostics)")
        #expect(answer.kind == .error, "\(answer.text)")
        // Not a timing test: the bound sits halfway between the deadline (1 s) and the 5 s Redis
        // timeout, so it tells which of the two stopped the wait even on a loaded 2-core machine.
        #expect(answer.receivedAt - started < .milliseconds(3000), "answered \(answer.receivedAt - started) after the invoke")
    }

    @Test func runtimeAPIAnswering500EndsTheProcessQuickly() async throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        try await function.expectUpdateWritten(1, "before /next fails")
        let api = function.api
        let backOnNext = await onOwnThread { api.waitForNextRequests(2, timeout: .seconds(5)) }
        #expect(backOnNext, "the function never came back to /next")

        function.api.failNextRequestsWith500()
        let exit = await function.exit(within: .seconds(2))
        #expect(exit != nil && exit != .exited(code: 0), "\(function.diagnostics)")
    }

    @Test(arguments: [
        ("missing CA file", ["REDIS_SSL": "true", "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"]),
        ("port that is not a number", ["REDIS_PORT": "63x9"]),
    ])
    func initFailureIsReportedThenTheProcessExits(case: String, environment: [String: String]) async throws {
        let function = try FunctionProcess(redisPort: 6379, environment: environment)
        defer { function.stop() }
        let api = function.api
        let reported = await onOwnThread { api.initError(timeout: .seconds(5)) }
        let initError = try #require(reported, "\(`case`): \(function.diagnostics)")
        #expect(initError.errorType?.hasPrefix("Function.") == true || initError.errorType?.hasPrefix("Runtime.") == true)
        let exit = await function.exit(within: .seconds(5))
        #expect(exit != nil && exit != .exited(code: 0), "\(`case`): \(function.diagnostics)")
    }

    @Test func twoThousandAlternatingEventsLeakNeitherMemoryNorDescriptors() async throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        let run = await onOwnThread { AlternatingRun.perform(on: function, count: 2_000, warmUp: 200) }

        #expect(run.unanswered == nil, "invocation \(run.unanswered ?? 0) got no answer; \(function.diagnostics)")
        #expect(run.wrongAnswers.isEmpty, "\(run.wrongAnswers.count) wrong answers, first: \(run.wrongAnswers.prefix(3))")
        let afterWarmUp = try #require(run.afterWarmUp, "/proc/\(function.process.pid) could not be read")
        let atEnd = try #require(run.atEnd, "/proc/\(function.process.pid) could not be read; \(function.diagnostics)")
        // Flat: allocator noise only; a per-invocation leak of even 1 KiB would add 1.8 MiB here.
        // Not under AddressSanitizer, whose quarantine keeps freed memory (up to 256 MB) on purpose.
        if !FunctionProcess.isInstrumented {
            #expect(
                atEnd.residentKiB - afterWarmUp.residentKiB < 512,
                "RSS \(afterWarmUp.residentKiB) KiB after 200 invocations, \(atEnd.residentKiB) KiB after 2,000")
        }
        #expect(
            atEnd.descriptors.count == afterWarmUp.descriptors.count,
            "descriptors after 200: \(afterWarmUp.descriptors.values.sorted()), now: \(atEnd.descriptors.values.sorted())")
        #expect(function.process.isRunning, "\(function.diagnostics)")
    }
}

/// Good and bad events in turn, answers checked as they come, the process measured once warm and
/// once at the end (each time while idle on `/next`, between invocations).
struct AlternatingRun: Sendable {
    struct Snapshot: Sendable {
        let residentKiB: Int
        let descriptors: [Int: String]
    }

    var wrongAnswers: [String] = []
    var unanswered: Int?
    var afterWarmUp: Snapshot?
    var atEnd: Snapshot?

    static func perform(on function: FunctionProcess, count: Int, warmUp: Int) -> AlternatingRun {
        var run = AlternatingRun()
        for index in 0..<count {
            let isGood = index % 2 == 0
            let event = isGood ? FaultEvents.goodUpdate(index) : FaultEvents.badEvents[(index / 2) % FaultEvents.badEvents.count]
            guard let answer = function.api.call(event) else {
                run.unanswered = index
                return run
            }
            if isGood, answer.kind != .response {
                run.wrongAnswers.append("good \(index): \(answer.text)")
            } else if !isGood, answer.kind != .error || answer.errorType?.hasPrefix("Function.") != true {
                run.wrongAnswers.append("bad \(index): \(answer.kind) \(answer.errorType ?? "-") \(answer.text.prefix(200))")
            }
            if index == warmUp - 1 { run.afterWarmUp = snapshot(of: function, afterInvocations: warmUp) }
        }
        run.atEnd = snapshot(of: function, afterInvocations: count)
        return run
    }

    private static func snapshot(of function: FunctionProcess, afterInvocations count: Int) -> Snapshot? {
        guard function.api.waitForNextRequests(count + 1, timeout: .seconds(5)),
            let resident = ProcessStatus.residentKiB(of: function.process.pid),
            let descriptors = ProcessStatus.openDescriptors(of: function.process.pid)
        else { return nil }
        return Snapshot(residentKiB: resident, descriptors: descriptors)
    }
}
