import Foundation
import Testing
import TestSupport

/// The built PriceCacheHandler writes an invocation's metric line once its answer is posted, so the
/// caller does not wait for that write (issue 13), and never loses it: not after an error, not when
/// the Runtime API's answer to the post ends the process. Observed at a real Runtime API on
/// loopback, not by timing: the function's output is read while its post is being received (the
/// function waits for the reply, so nothing it writes after the post can be there yet), and again
/// once it has asked for the next invocation.
@Suite(.serialized) struct MetricLineAfterAnswerTests {
    static func metricLine(of requestID: String, in output: String) -> Substring? {
        output.split(separator: "\n").first { $0.hasPrefix(#"{"_aws":"#) && $0.contains(#""requestId":"\#(requestID)""#) }
    }

    @Test func theMetricLineIsWrittenAfterTheResponseAndAfterAnError() async throws {
        let redis = try RedisServer.start()
        let function = try FunctionProcess(redisPort: redis.port)
        defer { function.stop() }
        function.api.snapshotOutputAtEachAnswer { [process = function.process] in process.output() }

        for (index, (event, kind, counter)) in [
            (FaultEvents.goodUpdate(1), ScriptedRuntimeAPI.Answer.Kind.response, #""RecordsWritten":1"#),
            (FaultEvents.badEvents[2], .error, #""Invalid":1"#),
        ].enumerated() {
            let requestID = function.api.invoke(event)
            let api = function.api
            let posted = await onOwnThread { api.answer(to: requestID, timeout: .seconds(10)) }
            let answer = try #require(posted, "\(function.diagnostics)")
            #expect(answer.kind == kind, "\(answer.text)")
            let before = try #require(answer.outputWhenPosted)
            #expect(Self.metricLine(of: requestID, in: before) == nil, "the line was written before the post:\n\(before.suffix(2000))")
            // Asking for the next invocation is how the runtime says it is done with this one.
            let idle = await onOwnThread { api.waitForNextRequests(index + 2, timeout: .seconds(10)) }
            #expect(idle, "\(function.diagnostics)")
            let line = try #require(Self.metricLine(of: requestID, in: function.process.output()), "no metric line: \(function.diagnostics)")
            #expect(line.contains(counter), "\(line)")
            #expect(line.hasSuffix("}"), "one whole line: \(line)")
        }
    }

    /// A 500 to `/response` ends the process (Lambda's Runtime API is broken); the line of the
    /// invocation it answered is written before the process ends.
    @Test func theMetricLineIsWrittenWhenThePostsReplyEndsTheProcess() async throws {
        let redis = try RedisServer.start()
        let requestID = "ends-after-post-5d1c"
        let server = try RuntimeAPIServer(script: [.event(FaultEvents.goodUpdate(1), requestID: requestID, completionStatus: 500)])
        defer { server.stop() }
        let process = try FunctionProcess.spawn(
            "PriceCacheHandler", runtimeAPI: server.address,
            [
                "REDIS_ENDPOINT": "127.0.0.1", "REDIS_PORT": String(redis.port), "REDIS_SSL": "false",
            ])
        defer { process.kill() }
        let exit = await onOwnThread { process.waitForExit(timeout: .seconds(30)) }
        #expect(exit == .exited(code: 1), "\(process.output().suffix(2000))")
        #expect(server.requests(endingWith: "/response").count == 1)
        let line = try #require(Self.metricLine(of: requestID, in: process.output()), "\(process.output().suffix(2000))")
        #expect(line.contains(#""RecordsWritten":1"#), "\(line)")
    }
}
