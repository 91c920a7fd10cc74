/// How the executable was asked to run, from its arguments and `AWS_LAMBDA_RUNTIME_API`. Pure.
enum LaunchMode: Equatable {
    /// On Lambda (or under the Runtime Interface Emulator): the Runtime API at `host:port`.
    case lambda(runtimeAPI: String)
    /// `--event FILE...`: one invocation per file, `-` meaning standard input.
    case events([String])
    /// `--serve [PORT]`: the emulator's invoke endpoint on 127.0.0.1.
    case serve(port: UInt16)
    /// `--help`: the usage text on stdout, exit 0.
    case help
    /// Nothing to run: the usage text on stderr (after `problem`, if any), exit 2.
    case usage(problem: String?)

    static let defaultServePort: UInt16 = 8080

    /// Local flags win over `AWS_LAMBDA_RUNTIME_API`: asking for them is explicit, the variable may
    /// be left over in a shell.
    static func parse(_ arguments: [String], runtimeAPI: String?) -> LaunchMode {
        guard let flag = arguments.first else {
            if let runtimeAPI, !runtimeAPI.isEmpty { return .lambda(runtimeAPI: runtimeAPI) }
            return .usage(problem: nil)
        }
        switch flag {
        case "--help", "-h":
            return arguments.count == 1 ? .help : .usage(problem: "--help takes no arguments")
        case "--event":
            return parseEvents(arguments)
        case "--serve":
            return parseServe(Array(arguments.dropFirst()))
        default:
            return .usage(problem: "unknown argument \(flag)")
        }
    }

    /// `--event a.json b.json` and `--event a.json --event b.json` both work.
    private static func parseEvents(_ arguments: [String]) -> LaunchMode {
        var files: [String] = []
        var expectingFile = false
        for argument in arguments {
            if argument == "--event" {
                guard !expectingFile else { return .usage(problem: "--event needs a FILE (or - for stdin)") }
                expectingFile = true
            } else if argument.hasPrefix("--") || (argument.hasPrefix("-") && argument != "-") {
                return .usage(problem: argument == "--serve" ? "--event and --serve cannot be combined" : "unknown argument \(argument)")
            } else {
                files.append(argument)
                expectingFile = false
            }
        }
        if expectingFile { return .usage(problem: "--event needs a FILE (or - for stdin)") }
        if files.filter({ $0 == "-" }).count > 1 { return .usage(problem: "standard input (-) can be read only once") }
        return .events(files)
    }

    private static func parseServe(_ rest: [String]) -> LaunchMode {
        switch rest.count {
        case 0:
            return .serve(port: defaultServePort)
        case 1:
            guard let port = UInt16(rest[0]), port > 0 else {
                return .usage(problem: rest[0].hasPrefix("-") ? "--serve cannot be combined with \(rest[0])" : "invalid port \(rest[0])")
            }
            return .serve(port: port)
        default:
            return .usage(problem: "--serve takes at most one PORT")
        }
    }

    static func usageText(name: String) -> String {
        """
        Usage: \(name) --event FILE...   invoke once per file (- reads stdin), print each result
               \(name) --serve [PORT]    serve POST http://127.0.0.1:PORT/2015-03-31/functions/function/invocations (default \(defaultServePort))
        On AWS Lambda the runtime reads AWS_LAMBDA_RUNTIME_API, which is not set here.
        """
    }
}
