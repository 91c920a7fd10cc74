#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The entry point of a function's executable.
public enum Lambda {
    /// Runs `initialize` once (the cold start; a failure is reported to `/runtime/init/error` and
    /// ends the process non-zero), then serves invocations until the Runtime API says stop.
    /// Without `AWS_LAMBDA_RUNTIME_API`: `--event FILE...` / `-` and `--serve [PORT]` run the same
    /// loop against a Runtime API served in-process on loopback; anything else prints the usage and
    /// exits 2.
    public static func run<Handler: LambdaHandler>(name: String, _ initialize: () throws(FunctionError) -> Handler) -> Never {
        exit(launch(name: name, arguments: Array(CommandLine.arguments.dropFirst()), initialize))
    }

    /// The same for a handler over JSON values.
    public static func run<Handler: CodableLambdaHandler>(name: String, _ initialize: () throws(FunctionError) -> Handler) -> Never {
        run(name: name) { () throws(FunctionError) in CodableHandlerAdapter(try initialize()) }
    }

    static func launch<Handler: LambdaHandler>(name: String, arguments: [String], _ initialize: () throws(FunctionError) -> Handler) -> Int32 {
        let logger = LambdaLogger(environment: ProcessEnvironment.value)
        // Every mode runs the handler on this thread, which gets the alternate signal stack.
        CrashTrace.install(logger: logger)
        switch LaunchMode.parse(arguments, runtimeAPI: ProcessEnvironment.value("AWS_LAMBDA_RUNTIME_API")) {
        case .lambda(let address):
            return RuntimeLoop.start(address: address, logger: logger, initialize: initialize)
        case .events(let files):
            return LocalInvocation.invokeEvents(files: files, name: name, logger: logger, initialize: initialize)
        case .serve(let port):
            return LocalInvocation.serve(port: port, name: name, logger: logger, initialize: initialize)
        case .help:
            StandardStreams.emitLine(LaunchMode.usageText(name: name), to: StandardStreams.output)
            return 0
        case .usage(let problem):
            if let problem { StandardStreams.emitLine("\(name): \(problem)", to: StandardStreams.error) }
            StandardStreams.emitLine(LaunchMode.usageText(name: name), to: StandardStreams.error)
            return 2
        }
    }
}
