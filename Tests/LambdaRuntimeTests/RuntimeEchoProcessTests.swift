import Foundation
import Testing
import TestSupport
@testable import LambdaRuntime

/// The built RuntimeEcho executable: exit codes, the log format, local invocation.
@Suite struct RuntimeEchoProcessTests {
    @Test func withoutRuntimeAPIOrFlagsItPrintsUsageAndExits2() async throws {
        let result = try await RuntimeEchoProcess.run([])
        #expect(result.status == 2)
        #expect(result.standardError.hasPrefix("Usage: RuntimeEcho --event FILE..."))
        #expect(result.standardOutput.isEmpty)
        let unknown = try await RuntimeEchoProcess.run(["--bogus"])
        #expect(unknown.status == 2)
        #expect(unknown.standardError.hasPrefix("RuntimeEcho: unknown argument --bogus\nUsage:"))
        let help = try await RuntimeEchoProcess.run(["--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.hasPrefix("Usage: RuntimeEcho"))
    }

    @Test func echoesOnLambdaThenExitsNonZeroOnAServerError() async throws {
        let server = try RuntimeAPIServer(script: [.event(#"{"price":1.5}"#, requestID: "e-1"), .init(status: 500)])
        defer { server.stop() }
        let result = try await RuntimeEchoProcess.run([], environment: ["AWS_LAMBDA_RUNTIME_API": server.address])
        #expect(result.status != 0)
        #expect(server.requests(endingWith: "/e-1/response").first?.bodyText == #"{"price":1.5}"#)
        #expect(result.standardOutput == "" || result.standardOutput.contains("Runtime.ApiServerError"))
    }

    @Test func forbiddenNextExitsNonZero() async throws {
        let server = try RuntimeAPIServer(script: [.init(status: 403)])
        defer { server.stop() }
        let result = try await RuntimeEchoProcess.run([], environment: ["AWS_LAMBDA_RUNTIME_API": server.address])
        #expect(result.status != 0)
        #expect(result.standardOutput.contains("Runtime.InvalidState"))
    }

    @Test func jsonLogLinesCarryTimestampLevelMessageAndRequestID() async throws {
        let server = try RuntimeAPIServer(script: [.event("{}", requestID: "json-1", completionStatus: 400)])
        defer { server.stop() }
        let result = try await RuntimeEchoProcess.run(
            [],
            environment: [
                "AWS_LAMBDA_RUNTIME_API": server.address, "AWS_LAMBDA_LOG_FORMAT": "JSON",
            ])
        let lines = result.outputLines
        #expect(lines.count == 2, "one line per event: \(lines)")
        let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]) }
        let rejected = try #require(objects.first)
        #expect(Set(rejected.keys) == ["timestamp", "level", "message", "requestId"])
        #expect(rejected["level"] == "ERROR")
        #expect(rejected["requestId"] == "json-1")
        #expect(rejected["message"]?.hasPrefix("Runtime.RequestRejected: ") == true)
        #expect(rejected["timestamp"]?.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        #expect(objects.last?["requestId"] == nil, "the final /next failure belongs to no invocation")
        #expect(objects.last?["message"]?.hasPrefix("Runtime.InvalidState: ") == true)
    }

    @Test func logLevelFiltersLines() async throws {
        let server = try RuntimeAPIServer(script: [.event("{}", completionStatus: 400)])
        defer { server.stop() }
        let result = try await RuntimeEchoProcess.run(
            [],
            environment: [
                "AWS_LAMBDA_RUNTIME_API": server.address, "AWS_LAMBDA_LOG_LEVEL": "fatal",
            ])
        #expect(result.status != 0)
        #expect(result.standardOutput.isEmpty)
    }

    @Test func eventFilesAndStandardInputAreInvokedInOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let first = directory.appendingPathComponent("first.json")
        try Data(#"{"symbol":"AAPL"}"#.utf8).write(to: first)
        let result = try await RuntimeEchoProcess.run(["--event", first.path, "-"], standardInput: "[1,2,3]\n")
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "{\"symbol\":\"AAPL\"}\n[1,2,3]\n")
    }

    @Test func anUnreadableEventFileExits2() async throws {
        let result = try await RuntimeEchoProcess.run(["--event", "/nonexistent/event.json"])
        #expect(result.status == 2)
        #expect(result.standardError == "RuntimeEcho: cannot open /nonexistent/event.json: No such file or directory\n")
    }

    @Test func serveAnswersConcurrentCallersOneAtATime() async throws {
        let port = try LoopbackClient.freePort()
        let process = try RuntimeEchoProcess(["--serve", String(port)])
        defer { process.kill() }
        var ready = false
        for _ in 0..<250 where !ready {
            if let descriptor = try? LoopbackClient.connect(port: port) {
                close(descriptor)
                ready = true
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(ready)
        let path = "/2015-03-31/functions/function/invocations"
        let responses = try await withThrowingTaskGroup(of: (Int, LoopbackClient.Response).self) { group in
            for caller in 0..<8 {
                group.addTask {
                    let body = Array(#"{"caller":\#(caller)}"#.utf8)
                    return (caller, try await onOwnThread { Result { try LoopbackClient.send(port: port, method: "POST", path: path, body: body) } }.get())
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for caller in 0..<8 {
            #expect(responses[caller]?.status == 200)
            #expect(responses[caller].map { String(decoding: $0.body, as: UTF8.self) } == #"{"caller":\#(caller)}"#)
            #expect(responses[caller]?.headers["x-amz-function-error"] == nil)
        }
        #expect(try LoopbackClient.send(port: port, method: "GET", path: path).status == 405)
        #expect(try LoopbackClient.send(port: port, method: "POST", path: "/elsewhere").status == 404)
        #expect(process.process.isRunning)
    }

    @Test func serveOnAPortInUseSaysSoAndExits1() async throws {
        let occupant = try LoopbackHTTPServer(maximumBodySize: 0) { _ in HTTPResponse(status: 200) }
        defer { occupant.stop() }
        let result = try await RuntimeEchoProcess.run(["--serve", String(occupant.port)])
        #expect(result.status == 1)
        #expect(result.standardError == "RuntimeEcho: cannot listen on 127.0.0.1:\(occupant.port): Address already in use\n")
    }
}
