import Foundation
import LambdaRuntime
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A crash leaves one line on stderr naming the signal, the instruction and the invocation, and the
/// process still dies of that signal (Lambda reports it and starts a fresh one). Run against the
/// test-only CrashProbe binary, whose handler crashes as its event asks. Not under the sanitizers
/// (scripts/test-sanitizers.sh): they install fatal-signal handlers of their own that end the
/// process their way.
@Suite(.enabled(if: !FunctionProcess.isInstrumented)) struct CrashTraceTests {
    static var trapSignal: Int32 {
        #if arch(x86_64)
        SIGILL
        #else
        SIGTRAP
        #endif
    }

    @Test(
        arguments: [
            ("trap", trapSignal),
            ("overflow", SIGSEGV),
            ("abort", SIGABRT),
            ("segv", SIGSEGV),
        ] as [(String, Int32)])
    func aCrashLeavesALineWithTheSignalTheInstructionAndTheRequestID(kind: String, signal: Int32) async throws {
        let requestID = "crash-\(kind)-8476a536"
        let server = try RuntimeAPIServer(script: [.event("\"\(kind)\"", requestID: requestID)])
        defer { server.stop() }
        // The toolchain's backtracer (absent from a packaged bootstrap) would run after the line.
        let process = try FunctionProcess.spawn("CrashProbe", runtimeAPI: server.address, ["SWIFT_BACKTRACE": "enable=no"])
        defer { process.kill() }

        let exit = await onOwnThread { process.waitForExit(timeout: .seconds(60)) }

        let output = process.output()
        #expect(exit == .signaled(signal), "\(output.suffix(2000))")
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("Runtime.Crash: ") }, "no crash line in:\n\(output.suffix(2000))")
        let name = [SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT"][signal] ?? "?"
        #expect(line.contains("\(name) (signal \(signal)) at instruction 0x"), "\(line)")
        #expect(line.hasSuffix(", request \(requestID)"), "\(line)")
        #expect(!line.contains("at instruction 0x0000000000000000"), "the instruction address is read from the context: \(line)")
        if kind == "segv" {
            // The bad store is in CrashProbe's own code: the line gives its offset for addr2line.
            #expect(line.contains(") (executable+0x") || line.contains(" (executable+0x"), "\(line)")
            #expect(line.contains(", fault address 0x0000000000000010"), "\(line)")
        }
    }

    /// A line held for after the answer (`StandardStreams.emitAfterAnswer`, the metric line's way)
    /// is written by the crash handler, ahead of the crash line, when the process dies first.
    @Test func aCrashWritesTheHeldLineBeforeTheCrashLine() async throws {
        let requestID = "crash-held-51f0"
        let server = try RuntimeAPIServer(script: [.event(#""held-then-trap""#, requestID: requestID)])
        defer { server.stop() }
        let process = try FunctionProcess.spawn("CrashProbe", runtimeAPI: server.address, ["SWIFT_BACKTRACE": "enable=no"])
        defer { process.kill() }
        let exit = await onOwnThread { process.waitForExit(timeout: .seconds(60)) }
        let output = process.output()
        #expect(exit == .signaled(Self.trapSignal), "\(output.suffix(2000))")
        let lines = output.split(separator: "\n").map(String.init)
        let held = try #require(lines.firstIndex(of: "held line of \(requestID)"), "\(output.suffix(2000))")
        let crash = try #require(lines.firstIndex { $0.hasPrefix("Runtime.Crash: ") }, "\(output.suffix(2000))")
        #expect(held < crash)
        #expect(lines.count { $0.hasPrefix("held line") } == 1, "written once: \(output.suffix(2000))")
    }

    @Test func aHealthyInvocationLeavesNoCrashLine() async throws {
        let server = try RuntimeAPIServer(script: [.event("\"fine\"", requestID: "no-crash")])
        defer { server.stop() }
        let process = try FunctionProcess.spawn("CrashProbe", runtimeAPI: server.address)
        defer { process.kill() }
        let exit = await onOwnThread { process.waitForExit(timeout: .seconds(60)) }
        #expect(exit == .exited(code: 1), "the script's 403 ends the loop")
        #expect(server.requests(endingWith: "/response").first?.bodyText == "\"fine\"")
        #expect(!process.output().contains("Runtime.Crash"))
    }
}

extension HTTPRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
