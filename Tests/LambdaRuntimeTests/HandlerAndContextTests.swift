import Testing
@testable import LambdaRuntime

private struct Greeting: Codable, Equatable {
    let name: String
    let count: Int
}

private struct Greeter: CodableLambdaHandler {
    func handle(_ event: Greeting, context: LambdaContext) throws(FunctionError) -> Greeting {
        guard event.count >= 0 else { throw FunctionError(type: "Function.NegativeCount", message: "count must not be negative") }
        return Greeting(name: "hello \(event.name)", count: event.count + 1)
    }
}

@Suite struct HandlerAndContextTests {
    private let context = LambdaContext(
        requestID: "r", deadline: LambdaDeadline(millisecondsSinceEpoch: 0), invokedFunctionARN: "arn",
        function: FunctionEnvironment(environment: { _ in nil }), logger: LambdaLogger()
    )
    private let adapter = CodableHandlerAdapter(Greeter())

    @Test func decodesCallsAndEncodes() throws {
        let output = try adapter.handle(Array(#"{"name":"ana","count":1}"#.utf8), context: context)
        #expect(
            String(decoding: output, as: UTF8.self) == #"{"count":2,"name":"hello ana"}"#
                || String(decoding: output, as: UTF8.self) == #"{"name":"hello ana","count":2}"#)
    }

    @Test func aMalformedEventIsInvalidEventAndNamesThePath() {
        #expect(throws: FunctionError(type: "Function.InvalidEvent", message: "The event is not a valid Greeting: count: required key is missing")) {
            try adapter.handle(Array(#"{"name":"ana"}"#.utf8), context: context)
        }
        #expect(
            throws: FunctionError(
                type: "Function.InvalidEvent", message: "The event is not a valid Greeting: name: Expected to decode String but found number instead.")
        ) {
            try adapter.handle(Array(#"{"name":12,"count":1}"#.utf8), context: context)
        }
    }

    @Test func handlerErrorsPassThrough() {
        #expect(throws: FunctionError(type: "Function.NegativeCount", message: "count must not be negative")) {
            try adapter.handle(Array(#"{"name":"x","count":-1}"#.utf8), context: context)
        }
    }

    @Test func deadlineOnTheMonotonicClock() {
        let deadline = LambdaDeadline(millisecondsSinceEpoch: WallClock.millisecondsSinceEpoch() + 2000)
        let instant = deadline.instant(leaving: .milliseconds(500))
        let left = instant - ContinuousClock.now
        #expect(left > .milliseconds(1200) && left <= .milliseconds(1500))
        #expect(LambdaDeadline(millisecondsSinceEpoch: 0).remainingTime < .zero)
    }

    @Test func functionEnvironmentFromVariables() {
        let environment = FunctionEnvironment(
            environment: [
                "AWS_LAMBDA_FUNCTION_NAME": "prices", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/prices",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]abc", "AWS_REGION": "eu-west-1",
            ].lookup)
        #expect(
            environment
                == FunctionEnvironment(
                    name: "prices", version: "$LATEST", memorySizeMB: 128, logGroup: "/aws/lambda/prices", logStream: "2024/01/01/[$LATEST]abc",
                    region: "eu-west-1"))
        #expect(FunctionEnvironment(environment: ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"].lookup).memorySizeMB == nil)
    }
}
