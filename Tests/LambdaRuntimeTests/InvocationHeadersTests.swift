import Testing
@testable import LambdaRuntime

@Suite struct InvocationHeadersTests {
    private func parse(_ lines: [String]) -> InvocationHeaders {
        var headers = InvocationHeaders()
        for line in lines {
            Array(line.utf8).withUnsafeBufferPointer { headers.consume(line: $0) }
        }
        return headers
    }

    @Test func readsEveryRuntimeHeaderCaseInsensitively() {
        let headers = parse([
            "HTTP/1.1 200 OK\r\n",
            "Content-Type: application/json\r\n",
            "lambda-runtime-aws-request-id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n",
            "LAMBDA-RUNTIME-DEADLINE-MS: 1542409706888\r\n",
            "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:custom-runtime\r\n",
            "Lambda-Runtime-Trace-Id:Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n",
            "Lambda-Runtime-Client-Context: {\"client\":{}}\r\n",
            "Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"id\"}\r\n",
            "Lambda-Runtime-Aws-Tenant-Id:   tenant-7  \r\n",
            "Content-Length: 42\r\n",
            "\r\n",
        ])
        #expect(
            headers
                == InvocationHeaders(
                    requestID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
                    deadlineMillisecondsSinceEpoch: 1_542_409_706_888,
                    invokedFunctionARN: "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime",
                    traceID: "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                    clientContext: #"{"client":{}}"#,
                    cognitoIdentity: #"{"cognitoIdentityId":"id"}"#,
                    tenantID: "tenant-7",
                    contentLength: 42
                ))
    }

    @Test func emptyOrMissingRequestIDIsNoRequestID() {
        #expect(parse(["Lambda-Runtime-Aws-Request-Id:   \r\n"]).requestID == nil)
        #expect(parse(["Lambda-Runtime-Deadline-Ms: 1\r\n"]).requestID == nil)
    }

    @Test func aStatusLineForgetsAnInterimResponse() {
        let headers = parse(["HTTP/1.1 100 Continue\r\n", "Lambda-Runtime-Aws-Request-Id: old\r\n", "HTTP/1.1 200 OK\r\n", "Lambda-Runtime-Deadline-Ms: 5\r\n"])
        #expect(headers.requestID == nil)
        #expect(headers.deadlineMillisecondsSinceEpoch == 5)
    }

    @Test(arguments: ["", "12a", "-5", "1234567890123456", "1 2"])
    func malformedDeadlinesAreIgnored(value: String) {
        #expect(parse(["Lambda-Runtime-Deadline-Ms: \(value)\r\n"]).deadlineMillisecondsSinceEpoch == nil)
    }

    @Test func linesWithoutAColonAreIgnored() {
        #expect(parse(["garbage\r\n", "\r\n"]) == InvocationHeaders())
    }
}
