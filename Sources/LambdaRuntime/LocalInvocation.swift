#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Local invocation: the real libcurl loop, on the main thread, against a `LocalRuntimeAPI` served
/// on loopback by other threads. Logs go to stderr so that stdout carries only results.
enum LocalInvocation {
    /// The Runtime Interface Emulator's invoke endpoint.
    static let invokePath = "/2015-03-31/functions/function/invocations"
    /// The runtime may post more than Lambda accepts; the local API must read it to answer 413.
    static let runtimeAPIBodyLimit = 64 * 1024 * 1024

    /// `--event FILE...`: one invocation per file, each result (or error JSON) on its own stdout
    /// line, in order; exit status 1 if any invocation failed, 2 if a file cannot be read.
    static func invokeEvents<Handler: LambdaHandler>(
        files: [String], name: String, logger: LambdaLogger, initialize: () throws(FunctionError) -> Handler
    ) -> Int32 {
        var events: [[UInt8]] = []
        for file in files {
            do {
                events.append(try EventFile.read(file))
            } catch {
                StandardStreams.emitLine("\(name): \(error)", to: StandardStreams.error)
                return 2
            }
        }
        let api = LocalRuntimeAPI(functionName: name, environment: ProcessEnvironment.value)
        let server: LoopbackHTTPServer
        do {
            server = try LoopbackHTTPServer(maximumBodySize: runtimeAPIBodyLimit, responder: api.respond)
        } catch {
            StandardStreams.emitLine("\(name): local Runtime API: \(error)", to: StandardStreams.error)
            return 1
        }
        let requestIDs = events.map(api.submit)
        // The loop never returns while it waits on `/next`, so the thread that prints the last
        // result is the one that ends the process; it is the only caller of exit.
        DetachedThread.start {
            exit(printOutcomes(requestIDs, api: api, name: name))
        }
        let status = RuntimeLoop.start(address: server.address, logger: logger.writing(to: StandardStreams.error), initialize: initialize)
        api.runtimeEnded(exitStatus: status)
        while true { pause() }
    }

    static func printOutcomes(_ requestIDs: [String], api: LocalRuntimeAPI, name: String) -> Int32 {
        var anyFailed = false
        for requestID in requestIDs {
            // Printed once the loop has finished the invocation: its metric line is written
            // before its result, and before this thread ends the process after the last one.
            switch api.outcome(of: requestID, finished: true) {
            case .success(let result):
                printLine(result)
            case .failure(let errorJSON):
                printLine(errorJSON)
                anyFailed = true
            case .initFailed(let errorJSON):
                printLine(errorJSON)
                return 1
            case .runtimeEnded(let status):
                StandardStreams.emitLine("\(name): the runtime stopped (exit status \(status)) before answering", to: StandardStreams.error)
                return status == 0 ? 1 : status
            }
        }
        return anyFailed ? 1 : 0
    }

    /// One result a line; a result that already ends its line gets no second newline.
    private static func printLine(_ bytes: [UInt8]) {
        StandardStreams.emit(bytes.last == UInt8(ascii: "\n") ? bytes : bytes + [UInt8(ascii: "\n")], to: StandardStreams.output)
    }

    /// The function runs one invocation at a time: two bodies in memory (the one being invoked and
    /// the next) is all it can use; other callers wait with their bodies unread. The deadlines are
    /// the server's defaults (a head within 10 s of its first byte, a body that keeps coming).
    static let invokeLimits = LoopbackHTTPServer.Limits(bodiesInMemory: 2)

    /// `--serve PORT`: the emulator's invoke endpoint on 127.0.0.1, until the loop ends.
    static func serve<Handler: LambdaHandler>(
        port: UInt16, name: String, logger: LambdaLogger, initialize: () throws(FunctionError) -> Handler
    ) -> Int32 {
        let api = LocalRuntimeAPI(functionName: name, environment: ProcessEnvironment.value)
        let runtimeServer: LoopbackHTTPServer
        let invokeServer: LoopbackHTTPServer
        do {
            runtimeServer = try LoopbackHTTPServer(maximumBodySize: runtimeAPIBodyLimit, responder: api.respond)
            invokeServer = try LoopbackHTTPServer(port: port, maximumBodySize: LocalRuntimeAPI.payloadLimit, limits: invokeLimits) { request in
                invoke(request, api: api)
            }
        } catch {
            StandardStreams.emitLine("\(name): \(error)", to: StandardStreams.error)
            return 1
        }
        StandardStreams.emitLine("\(name): serving POST http://\(invokeServer.address)\(invokePath)", to: StandardStreams.error)
        let status = RuntimeLoop.start(address: runtimeServer.address, logger: logger.writing(to: StandardStreams.error), initialize: initialize)
        api.runtimeEnded(exitStatus: status)
        invokeServer.stop()
        runtimeServer.stop()
        return status
    }

    /// `POST /2015-03-31/functions/function/invocations`, answered as the emulator does: 200 with
    /// the result, or 200 with the error JSON and `X-Amz-Function-Error: Unhandled`.
    static func invoke(_ request: HTTPRequest, api: LocalRuntimeAPI) -> HTTPResponse {
        guard request.path == invokePath, request.method == "POST" else {
            let status = request.path == invokePath ? 405 : 404
            return .json(status, FunctionError(type: "Runtime.UnknownEndpoint", message: "Invoke at POST \(invokePath)").jsonPayload)
        }
        let functionError = HTTPHeader("X-Amz-Function-Error", "Unhandled")
        switch api.outcome(of: api.submit(request.body)) {
        case .success(let result):
            return .json(200, result)
        case .failure(let errorJSON), .initFailed(let errorJSON):
            return .json(200, errorJSON, headers: [functionError])
        case .runtimeEnded(let status):
            return .json(
                502, FunctionError(type: "Runtime.ExitError", message: "The runtime exited with status \(status)").jsonPayload, headers: [functionError])
        }
    }
}
