import Testing
@testable import LambdaRuntime

@Suite struct StatusPolicyTests {
    @Test func next() {
        #expect(StatusPolicy.afterNext(.status(200)) == .proceed)
        #expect(StatusPolicy.afterNext(.status(403)) == .exit(.invalidState(endpoint: "/next")))
        #expect(StatusPolicy.afterNext(.status(500)) == .exit(.apiServerError(endpoint: "/next", status: 500)))
        #expect(StatusPolicy.afterNext(.status(404)) == .exit(.unexpectedStatus(endpoint: "/next", status: 404)))
        #expect(
            StatusPolicy.afterNext(.transportFailure(detail: "refused", receivedResponseBytes: false))
                == .retry(.connectionFailed(endpoint: "/next", detail: "refused")))
        #expect(
            StatusPolicy.afterNext(.transportFailure(detail: "reset", receivedResponseBytes: true))
                == .exit(.connectionFailed(endpoint: "/next", detail: "reset")))
    }

    @Test func post() {
        #expect(StatusPolicy.afterPost(.status(202), endpoint: "/response") == .proceed)
        #expect(StatusPolicy.afterPost(.status(400), endpoint: "/response") == .logAndProceed(.requestRejected(endpoint: "/response")))
        #expect(StatusPolicy.afterPost(.status(413), endpoint: "/response") == .logAndProceed(.responseTooLarge(endpoint: "/response")))
        #expect(StatusPolicy.afterPost(.status(500), endpoint: "/error") == .exit(.apiServerError(endpoint: "/error", status: 500)))
        #expect(StatusPolicy.afterPost(.status(404), endpoint: "/error") == .logAndProceed(.unexpectedStatus(endpoint: "/error", status: 404)))
        #expect(
            StatusPolicy.afterPost(.transportFailure(detail: "x", receivedResponseBytes: false), endpoint: "/response")
                == .exit(.connectionFailed(endpoint: "/response", detail: "x")))
    }

    @Test func runtimeErrorTypesAreStableAndWellFormed() {
        let errors: [RuntimeError] = [
            .clientSetupFailed("x"), .connectionFailed(endpoint: "/next", detail: "x"), .invalidState(endpoint: "/next"),
            .apiServerError(endpoint: "/next", status: 500), .requestRejected(endpoint: "/response"),
            .responseTooLarge(endpoint: "/response"), .unexpectedStatus(endpoint: "/next", status: 418), .missingRequestID,
            .headerTooLarge(endpoint: "/next", name: "X", size: 2, limit: 1), .headerOverLibcurlLimit(endpoint: "/next", after: nil, limit: 1),
            .headersTooLarge(endpoint: "/next", size: 2, at: "X", limit: 1),
        ]
        #expect(
            errors.map(\.errorType) == [
                "Runtime.ClientSetupFailed", "Runtime.ConnectionFailed", "Runtime.InvalidState", "Runtime.ApiServerError",
                "Runtime.RequestRejected", "Runtime.ResponseTooLarge", "Runtime.UnexpectedStatus", "Runtime.MissingRequestId",
                "Runtime.HeaderTooLarge", "Runtime.HeaderTooLarge", "Runtime.HeaderTooLarge",
            ])
        #expect(errors.allSatisfy { FunctionError.isWellFormedErrorType($0.errorType) })
        #expect(RuntimeError.missingRequestID.logMessage == "Runtime.MissingRequestId: Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id")
    }

    @Test func requestIDsArePercentEncodedOnlyWhereNeeded() {
        #expect(RuntimeAPI.pathComponent("8476a536-e9f4-11e8-9739-2dfe598c3fcd") == "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
        #expect(RuntimeAPI.pathComponent("a b/c?d%é") == "a%20b%2Fc%3Fd%25%C3%A9")
        #expect(RuntimeAPI.requestID(fromPathComponent: "a%20b%2Fc%3Fd%25%C3%A9") == "a b/c?d%é")
        #expect(RuntimeAPI.pathComponent("..") == "%2E%2E")
        #expect(RuntimeAPI.requestID(fromPathComponent: "bad%2") == nil)
        #expect(RuntimeAPI.requestID(fromPathComponent: "bad%zz") == nil)
    }
}
