import Foundation
import Testing
import TestSupport

/// The built PriceCacheHandler, as a process, against a real redis-server and a Runtime API on
/// loopback, while things go wrong: Redis absent, killed, frozen; the Runtime API failing; bad
/// configuration; tight deadlines; a long run of good and bad events. Serialized: the timing
/// checks should not compete with each other for the two cores.
@Suite(.serialized) struct PriceCacheHandlerFaultTests {
    @Test func redisAbsentAtStartThenStarted() throws {
        let redis = try RedisServer.start()
        redis.kill()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }

        let whileAbsent = try #require(function.api.call(FaultEvents.goodUpdate(1)), "\(function.diagnostics)")
        #expect(whileAbsent.kind == .error)
        #expect(whileAbsent.errorType == "Function.RedisUnavailable", "\(whileAbsent.text)")

        try redis.restart()
        let afterStart = try #require(function.api.call(FaultEvents.goodUpdate(2)), "\(function.diagnostics)")
        #expect(afterStart.kind == .response, "\(afterStart.text)")
        #expect(function.process.isRunning, "the same process serves both: \(function.diagnostics)")
        #expect(try redis.cli("HGET", "price:FAULT", "timestamp").contains("1697658002"))
    }

    @Test func redisKilledMidStreamAndRestartedOnTheSamePort() throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }

        for index in 0..<5 {
            let answer = try #require(function.api.call(FaultEvents.goodUpdate(index)), "\(function.diagnostics)")
            #expect(answer.kind == .response, "\(answer.text)")
        }
        redis.kill()
        for index in 5..<8 {
            let answer = try #require(function.api.call(FaultEvents.goodUpdate(index)), "\(function.diagnostics)")
            #expect(answer.errorType == "Function.RedisUnavailable", "\(answer.text)")
        }
        try redis.restart()
        for index in 8..<13 {
            let answer = try #require(function.api.call(FaultEvents.goodUpdate(index)), "\(function.diagnostics)")
            #expect(answer.kind == .response, "\(answer.text)")
        }
        #expect(function.process.isRunning, "\(function.diagnostics)")
    }

    @Test func redisFrozenAnswersAnErrorWithinTheTimeoutThenRecovers() throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port, environment: ["REDIS_TIMEOUT_MS": "1000"])
        defer { function.stop() }
        let warm = try #require(function.api.call(FaultEvents.goodUpdate(1)), "\(function.diagnostics)")
        #expect(warm.kind == .response, "\(warm.text)")

        redis.pause()
        let started = ContinuousClock.now
        let frozen = try #require(function.api.call(FaultEvents.goodUpdate(2)), "\(function.diagnostics)")
        redis.resume()
        #expect(frozen.kind == .error)
        #expect(frozen.errorType?.hasPrefix("Function.") == true, "\(frozen.text)")
        #expect(frozen.receivedAt - started < .milliseconds(2500), "answered after \(frozen.receivedAt - started)")

        let thawed = try #require(function.api.call(FaultEvents.goodUpdate(3)), "\(function.diagnostics)")
        #expect(thawed.kind == .response, "\(thawed.text)")
    }

    @Test func deadlineIsHonouredWhileRedisIsFrozen() throws {
        let redis = try RedisServer.start()
        // The 5 s default timeout is far beyond the deadline: only the deadline can stop the wait.
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        let warm = try #require(function.api.call(FaultEvents.goodUpdate(1)), "\(function.diagnostics)")
        #expect(warm.kind == .response, "\(warm.text)")

        redis.pause()
        defer { redis.resume() }
        let started = ContinuousClock.now
        let requestID = function.api.invoke(FaultEvents.goodUpdate(2), deadlineIn: .milliseconds(300))
        let answer = try #require(function.api.answer(to: requestID, timeout: .seconds(6)), "\(function.diagnostics)")
        #expect(answer.kind == .error, "\(answer.text)")
        #expect(answer.receivedAt - started < .milliseconds(300), "answered \(answer.receivedAt - started) after the invoke")
    }

    @Test func runtimeAPIAnswering500EndsTheProcessQuickly() throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        let first = try #require(function.api.call(FaultEvents.goodUpdate(1)), "\(function.diagnostics)")
        #expect(first.kind == .response, "\(first.text)")
        #expect(function.api.waitForNextRequests(2, timeout: .seconds(5)), "the function never came back to /next")

        function.api.failNextRequestsWith500()
        let exit = function.process.waitForExit(timeout: .seconds(2))
        #expect(exit != nil && exit != .exited(code: 0), "\(function.diagnostics)")
    }

    @Test(arguments: [
        ("missing CA file", ["REDIS_SSL": "true", "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"]),
        ("port that is not a number", ["REDIS_PORT": "63x9"]),
    ])
    func initFailureIsReportedThenTheProcessExits(case: String, environment: [String: String]) throws {
        let function = try FunctionProcess(redisPort: 6379, environment: environment)
        defer { function.stop() }
        let initError = try #require(function.api.initError(timeout: .seconds(5)), "\(`case`): \(function.diagnostics)")
        #expect(initError.errorType?.hasPrefix("Function.") == true || initError.errorType?.hasPrefix("Runtime.") == true)
        let exit = function.process.waitForExit(timeout: .seconds(5))
        #expect(exit != nil && exit != .exited(code: 0), "\(`case`): \(function.diagnostics)")
    }

    @Test func twoThousandAlternatingEventsLeakNeitherMemoryNorDescriptors() throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        let pid = function.process.pid
        var residentAfterWarmUp = 0
        var descriptorsAfterWarmUp = 0
        var failures: [String] = []

        for index in 0..<2_000 {
            let isGood = index % 2 == 0
            let event = isGood ? FaultEvents.goodUpdate(index) : FaultEvents.badEvents[(index / 2) % FaultEvents.badEvents.count]
            guard let answer = function.api.call(event) else {
                Issue.record("invocation \(index) got no answer; \(function.diagnostics)")
                return
            }
            if isGood, answer.kind != .response {
                failures.append("good \(index): \(answer.text)")
            } else if !isGood, answer.kind != .error || answer.errorType?.hasPrefix("Function.") != true {
                failures.append("bad \(index): \(answer.kind) \(answer.errorType ?? "-") \(answer.text.prefix(200))")
            }
            if index == 199 {
                #expect(function.api.waitForNextRequests(index + 2, timeout: .seconds(5)))
                residentAfterWarmUp = ProcessStatus.residentKiB(of: pid) ?? 0
                descriptorsAfterWarmUp = ProcessStatus.openDescriptors(of: pid)?.count ?? 0
            }
        }
        #expect(function.api.waitForNextRequests(2_001, timeout: .seconds(5)))
        let residentAtEnd = try #require(ProcessStatus.residentKiB(of: pid), "\(function.diagnostics)")
        let descriptorsAtEnd = try #require(ProcessStatus.openDescriptors(of: pid), "\(function.diagnostics)")

        #expect(failures.isEmpty, "\(failures.count) wrong answers, first: \(failures.prefix(3))")
        #expect(residentAfterWarmUp > 0 && descriptorsAfterWarmUp > 0, "/proc/\(pid) could not be read")
        // Flat: allocator noise only; a per-invocation leak of even 1 KiB would add 1.8 MiB here.
        // Not under AddressSanitizer, whose quarantine keeps freed memory (up to 256 MB) on purpose.
        if !FunctionProcess.isInstrumented {
            #expect(residentAtEnd - residentAfterWarmUp < 512,
                    "RSS \(residentAfterWarmUp) KiB after 200 invocations, \(residentAtEnd) KiB after 2,000")
        }
        #expect(descriptorsAtEnd.count == descriptorsAfterWarmUp, "descriptors now: \(descriptorsAtEnd.values.sorted())")
        #expect(function.process.isRunning, "\(function.diagnostics)")
    }
}
