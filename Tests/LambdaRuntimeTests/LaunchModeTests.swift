import Testing
@testable import LambdaRuntime

@Suite struct LaunchModeTests {
    @Test func runtimeAPIVariableMeansLambda() {
        #expect(LaunchMode.parse([], runtimeAPI: "127.0.0.1:9001") == .lambda(runtimeAPI: "127.0.0.1:9001"))
    }

    @Test func nothingToRunIsUsage() {
        #expect(LaunchMode.parse([], runtimeAPI: nil) == .usage(problem: nil))
        #expect(LaunchMode.parse([], runtimeAPI: "") == .usage(problem: nil))
    }

    @Test func eventFilesInEitherSpelling() {
        #expect(LaunchMode.parse(["--event", "a.json", "b.json"], runtimeAPI: nil) == .events(["a.json", "b.json"]))
        #expect(LaunchMode.parse(["--event", "a.json", "--event", "-"], runtimeAPI: "x:1") == .events(["a.json", "-"]))
    }

    @Test func eventProblems() {
        #expect(LaunchMode.parse(["--event"], runtimeAPI: nil) == .usage(problem: "--event needs a FILE (or - for stdin)"))
        #expect(LaunchMode.parse(["--event", "-", "-"], runtimeAPI: nil) == .usage(problem: "standard input (-) can be read only once"))
        #expect(LaunchMode.parse(["--event", "a", "--serve"], runtimeAPI: nil) == .usage(problem: "--event and --serve cannot be combined"))
        #expect(LaunchMode.parse(["--event", "a", "-x"], runtimeAPI: nil) == .usage(problem: "unknown argument -x"))
    }

    @Test func serveWithAndWithoutPort() {
        #expect(LaunchMode.parse(["--serve"], runtimeAPI: nil) == .serve(port: 8080))
        #expect(LaunchMode.parse(["--serve", "9000"], runtimeAPI: nil) == .serve(port: 9000))
        #expect(LaunchMode.parse(["--serve", "0"], runtimeAPI: nil) == .usage(problem: "invalid port 0"))
        #expect(LaunchMode.parse(["--serve", "70000"], runtimeAPI: nil) == .usage(problem: "invalid port 70000"))
        #expect(LaunchMode.parse(["--serve", "1", "2"], runtimeAPI: nil) == .usage(problem: "--serve takes at most one PORT"))
    }

    @Test func helpAndUnknownFlags() {
        #expect(LaunchMode.parse(["--help"], runtimeAPI: nil) == .help)
        #expect(LaunchMode.parse(["--verbose"], runtimeAPI: "x:1") == .usage(problem: "unknown argument --verbose"))
    }
}
