/// Local invocation: the real loop against a Runtime API served in-process (work in progress).
enum LocalInvocation {
    static func invokeEvents<Handler: LambdaHandler>(files: [String], logger: LambdaLogger, initialize: () throws(FunctionError) -> Handler) -> Int32 {
        StandardStreams.emitLine("--event is not available yet", to: StandardStreams.error)
        return 2
    }

    static func serve<Handler: LambdaHandler>(port: UInt16, name: String, logger: LambdaLogger, initialize: () throws(FunctionError) -> Handler) -> Int32 {
        StandardStreams.emitLine("--serve is not available yet", to: StandardStreams.error)
        return 2
    }
}
