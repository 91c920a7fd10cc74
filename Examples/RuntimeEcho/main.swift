import LambdaRuntime

/// Returns its event unchanged: the smallest function, used by the runtime's tests and benchmarks.
struct Echo: LambdaHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8] {
        event
    }
}

Lambda.run(name: "RuntimeEcho") { Echo() }
