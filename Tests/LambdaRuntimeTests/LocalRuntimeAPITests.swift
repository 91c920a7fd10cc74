import Testing
import TestSupport
@testable import LambdaRuntime

@Suite struct LocalRuntimeAPITests {
    private let api = LocalRuntimeAPI(functionName: "prices", environment: ["AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_TIMEOUT": "10"].lookup)

    private func next() -> HTTPResponse {
        api.respond(to: HTTPRequest(method: "GET", target: "/2018-06-01/runtime/invocation/next", headers: [], body: []))
    }

    private func post(_ path: String, _ body: [UInt8], headers: [HTTPHeader] = []) -> HTTPResponse {
        api.respond(to: HTTPRequest(method: "POST", target: path, headers: headers, body: body))
    }

    @Test func nextCarriesTheEventAndLambdasHeaders() throws {
        let submitted = api.submit(Array("{}".utf8))
        let answer = next()
        #expect(answer.status == 200)
        #expect(answer.body == Array("{}".utf8))
        let header = { (name: String) in answer.headers.first { $0.name == name }?.value }
        #expect(header("Lambda-Runtime-Aws-Request-Id") == submitted)
        #expect(header("Lambda-Runtime-Invoked-Function-Arn") == "arn:aws:lambda:eu-west-1:012345678912:function:prices")
        let deadline = try #require(header("Lambda-Runtime-Deadline-Ms").flatMap { Int64($0) })
        #expect(abs(deadline - (WallClock.millisecondsSinceEpoch() + 10_000)) < 1000)
        #expect(post("/2018-06-01/runtime/invocation/\(submitted)/response", Array("42".utf8)).status == 202)
        #expect(api.outcome(of: submitted) == .success(Array("42".utf8)))
    }

    @Test func errorsAndUnknownIDs() {
        let submitted = api.submit([])
        _ = next()
        let errorJSON = FunctionError(type: "Function.InvalidEvent", message: "bad").jsonPayload
        #expect(post("/2018-06-01/runtime/invocation/nope/response", []).status == 400)
        #expect(post("/2018-06-01/runtime/invocation/\(submitted)/error", errorJSON).status == 202)
        #expect(post("/2018-06-01/runtime/invocation/\(submitted)/response", []).status == 400, "answered once only")
        #expect(api.outcome(of: submitted) == .failure(errorJSON))
    }

    @Test func aResponseOverSixMegabytesFailsTheInvocationWith413() {
        let submitted = api.submit([])
        _ = next()
        let answer = post("/2018-06-01/runtime/invocation/\(submitted)/response", Array(repeating: 0x20, count: LocalRuntimeAPI.payloadLimit + 1))
        #expect(answer.status == 413)
        #expect(
            api.outcome(of: submitted)
                == .failure(
                    FunctionError(
                        type: "Function.ResponseSizeTooLarge",
                        message: "Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."
                    ).jsonPayload))
    }

    @Test func initFailureAnswersEveryWaiter() {
        let submitted = api.submit([])
        let errorJSON = FunctionError(type: "Function.RedisUnavailable", message: "down").jsonPayload
        #expect(
            post("/2018-06-01/runtime/init/error", errorJSON, headers: [HTTPHeader("Lambda-Runtime-Function-Error-Type", "Function.RedisUnavailable")]).status
                == 202)
        #expect(api.outcome(of: submitted) == .initFailed(errorJSON))
    }

    @Test func initErrorIsRefusedOnceTheFirstNextHasBeenAsked() {
        let first = api.submit(Array("1".utf8))
        _ = next()
        let intruder = FunctionError(type: "Function.Hijacked", message: "every answer is mine").jsonPayload
        let answer = post("/2018-06-01/runtime/init/error", intruder, headers: [HTTPHeader("Lambda-Runtime-Function-Error-Type", "Function.Hijacked")])
        #expect(answer.status == 403)
        #expect(post("/2018-06-01/runtime/invocation/\(first)/response", Array("42".utf8)).status == 202)
        #expect(api.outcome(of: first) == .success(Array("42".utf8)))
        let second = api.submit(Array("2".utf8))
        _ = next()
        #expect(post("/2018-06-01/runtime/invocation/\(second)/response", Array("43".utf8)).status == 202)
        #expect(api.outcome(of: second) == .success(Array("43".utf8)), "later answers are the function's, not the intruder's")
    }

    @Test func theInvokeEndpointMarksFunctionErrors() async throws {
        let server = try LoopbackHTTPServer(maximumBodySize: 1 << 20, responder: api.respond)
        defer { server.stop() }
        let address = server.address
        async let loopStatus = runLoop(against: address) {
            ClosureHandler { _, _ throws(FunctionError) in throw FunctionError(type: "Function.InvalidEvent", message: "no symbol") }
        }
        let api = api
        let answer = await onOwnThread {
            LocalInvocation.invoke(HTTPRequest(method: "POST", target: LocalInvocation.invokePath, headers: [], body: Array("{}".utf8)), api: api)
        }
        #expect(answer.status == 200)
        #expect(answer.headers.contains(HTTPHeader("X-Amz-Function-Error", "Unhandled")))
        #expect(String(decoding: answer.body, as: UTF8.self) == #"{"errorMessage":"no symbol","errorType":"Function.InvalidEvent","stackTrace":[]}"#)
        server.stop()
        #expect(await loopStatus != 0, "the loop ends once its Runtime API is gone")
    }
}

@Suite struct LocalEventInvocationTests {
    @Test func anyFailedInvocationMakesTheExitStatusNonZero() async throws {
        let api = LocalRuntimeAPI(functionName: "f", environment: { _ in nil })
        let server = try LoopbackHTTPServer(maximumBodySize: 1 << 20, responder: api.respond)
        defer { server.stop() }
        let requestIDs = [api.submit(Array("ok".utf8)), api.submit(Array("fail".utf8))]
        let address = server.address
        async let loopStatus = runLoop(against: address) {
            ClosureHandler { event, _ throws(FunctionError) in
                guard event != Array("fail".utf8) else { throw FunctionError(type: "Function.Failed", message: "asked to fail") }
                return event
            }
        }
        #expect(await onOwnThread { LocalInvocation.printOutcomes(requestIDs, api: api, name: "f") } == 1)
        server.stop()
        _ = await loopStatus
    }
}
