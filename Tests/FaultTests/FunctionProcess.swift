import Foundation
import LambdaRuntime
import Testing
import TestSupport

/// The real PriceCacheHandler binary running as a Lambda would run it: its own process, talking to
/// a Runtime API over loopback, configured only through the environment.
struct FunctionProcess: Sendable {
    let api = ScriptedRuntimeAPI()
    let server: LoopbackHTTPServer
    let process: SpawnedProcess

    /// Starts the function against `redisPort`; `environment` adds or overrides variables.
    /// `hostsFile`: the function runs in a mount namespace of its own (`unshare --mount`) where
    /// this file is bind-mounted over `/etc/hosts`, so the test controls what names resolve to
    /// for this process alone (the machine's file is never touched). The bind mount follows the
    /// file's inode: rewrite it in place (`HostsFile.point`), never replace it.
    init(redisPort: Int, environment overrides: [String: String] = [:], hostsFile: String? = nil) throws {
        server = try LoopbackHTTPServer(maximumBodySize: 16 * 1024 * 1024) { [api] in api.respond(to: $0) }
        let defaults = [
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_REGION": "us-east-1",
            "AWS_LAMBDA_LOG_LEVEL": "WARN",
            "REDIS_ENDPOINT": "127.0.0.1",
            "REDIS_PORT": String(redisPort),
            "REDIS_SSL": "false",
        ]
        let environment = Self.environment(
            of: "PriceCacheHandler", runtimeAPI: server.address, defaults.merging(overrides) { _, override in override }
        )
        let binary = try BuiltProducts.path(of: "PriceCacheHandler")
        if let hostsFile {
            // unshare execs the shell, which execs the function: one process, the pid we hold.
            process = try SpawnedProcess(
                executable: try Self.unsharePath(),
                arguments: [
                    "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                    #"mount --bind "$0" /etc/hosts && exec "$1""#, hostsFile, binary,
                ],
                environment: environment
            )
        } else {
            process = try SpawnedProcess(executable: binary, environment: environment)
        }
    }

    /// A built function (`product`) started as Lambda starts one: told its Runtime API's address
    /// and its name; `extra` adds or overrides variables.
    static func spawn(_ product: String, runtimeAPI: String, _ extra: [String: String] = [:]) throws -> SpawnedProcess {
        try SpawnedProcess(executable: try BuiltProducts.path(of: product), environment: environment(of: product, runtimeAPI: runtimeAPI, extra))
    }

    /// What every function process gets: the Runtime API's address, its name, and under
    /// scripts/test-sanitizers.sh (the binary is instrumented too) the options that make a
    /// sanitizer's report stop it; then `extra`.
    static func environment(of product: String, runtimeAPI: String, _ extra: [String: String]) -> [String: String] {
        var environment = ["AWS_LAMBDA_RUNTIME_API": runtimeAPI, "AWS_LAMBDA_FUNCTION_NAME": product]
        for name in ["ASAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"] {
            environment[name] = ProcessInfo.processInfo.environment[name]
        }
        return environment.merging(extra) { _, override in override }
    }

    /// `unshare` (util-linux), needed by the tests that move a DNS name; a missing one is a
    /// failure with its reason, never a skip (CI runs as root and installs util-linux).
    static func unsharePath() throws -> String {
        for candidate in ["/usr/bin/unshare", "/bin/unshare"] where access(candidate, X_OK) == 0 {
            return candidate
        }
        throw MissingTool(description: "unshare (util-linux) is not installed: the failover tests need it to give the function its own /etc/hosts")
    }

    /// Set by scripts/test-sanitizers.sh: the binary runs instrumented.
    static var isInstrumented: Bool { ProcessInfo.processInfo.environment["SANITIZER"] != nil }

    func stop() {
        process.kill()
        api.stop()
        server.stop()
    }

    /// Invokes and waits for the answer, on a thread of its own (see `onOwnThread`).
    func call(_ event: String, timeout: Duration = .seconds(10)) async -> ScriptedRuntimeAPI.Answer? {
        await onOwnThread { [api] in api.call(event, timeout: timeout) }
    }

    /// Invokes with the good price update `index` (see `FaultEvents`) and waits for its answer; a
    /// missing answer fails the test with the function's output.
    func update(_ index: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> ScriptedRuntimeAPI.Answer {
        try #require(await call(FaultEvents.goodUpdate(index)), "update \(index): \(diagnostics)", sourceLocation: sourceLocation)
    }

    /// The same, for an update that must be written: `step` says when, in a failure's message.
    func expectUpdateWritten(_ index: Int, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let answer = try await update(index, sourceLocation: sourceLocation)
        #expect(answer.kind == .response, "\(step), update \(index): \(answer.text) \(diagnostics)", sourceLocation: sourceLocation)
    }

    /// Waits for the process to end, on a thread of its own.
    func exit(within timeout: Duration) async -> SpawnedProcessExit? {
        await onOwnThread { [process] in process.waitForExit(timeout: timeout) }
    }

    /// What a failed expectation shows: the function's own output, the first thing to read.
    var diagnostics: String {
        "function \(process.exit.map { "ended with \($0)" } ?? "running"); output:\n\(process.output().suffix(2000))"
    }
}

struct MissingTool: Error, CustomStringConvertible {
    let description: String
}

/// Events for the fault tests: good price updates (a new timestamp each, so latest-wins never skips
/// one) and bad events of every kind the validation refuses.
enum FaultEvents {
    static func goodUpdate(_ index: Int, symbol: String = "FAULT") -> String {
        #"{"symbol":"\#(symbol)","close":"205.50","open":"203.00","high":"206.00","low":"202.50","volume":"1000000","timestamp":"\#(1_697_658_000 + index)"}"#
    }

    static let badEvents = [
        #"{"symbol":"AAPL","close":"205.50""#,  // truncated JSON
        #"{"symbol":"AA PL","close":"1","open":"1","high":"1","low":"1","volume":"1","timestamp":"1"}"#,  // space in a key part
        #"{"symbol":"AAPL","close":"-1","open":"1","high":"1","low":"1","volume":"1","timestamp":"1"}"#,  // negative price
        #"{"symbol":"AAPL","open":"1","high":"1","low":"1","volume":"1","timestamp":"1"}"#,  // missing close
        #"{"symbol":["AAPL"],"close":"1","open":"1","high":"1","low":"1","volume":"1","timestamp":"1"}"#,  // wrong type
        #"{"hello":"world"}"#,  // unknown shape
        "\u{FF}\u{FE}not json",  // not UTF-8 JSON
        String(repeating: "[", count: 100_000),  // deep nesting
    ]
}
