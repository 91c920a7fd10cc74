import Testing
@testable import LambdaRuntime

@Suite struct FunctionErrorTests {
    @Test func payloadIsTheDocumentedShapeByteForByte() {
        let error = FunctionError(type: "Function.InvalidEvent", message: "The event is not valid")
        #expect(
            String(decoding: error.jsonPayload, as: UTF8.self)
                == #"{"errorMessage":"The event is not valid","errorType":"Function.InvalidEvent","stackTrace":[]}"#)
    }

    @Test func messageIsEscapedAsJSON() {
        let error = FunctionError(type: "Function.X", message: "quote \" slash \\ line\nreturn\r tab\t bell\u{07} é")
        #expect(
            String(decoding: error.jsonPayload, as: UTF8.self)
                == #"{"errorMessage":"quote \" slash \\ line\nreturn\r tab\t bell\u0007 é","errorType":"Function.X","stackTrace":[]}"#)
    }

    @Test(arguments: ["Function.InvalidEvent", "Runtime.Unknown", "Function.A"])
    func wellFormedTypesAreSentAsGiven(type: String) {
        #expect(FunctionError.isWellFormedErrorType(type))
        #expect(FunctionError(type: type, message: "").wireErrorType == type)
    }

    @Test(arguments: ["Function.", "Function.invalid", "Other.Reason", "Function.Bad-Type", "Function.Two\r\nX-Injected: 1", "", "Function.Redis2"])
    func malformedTypesBecomeFunctionUnknown(type: String) {
        #expect(!FunctionError.isWellFormedErrorType(type))
        let error = FunctionError(type: type, message: "m")
        #expect(error.wireErrorType == "Function.Unknown")
        #expect(String(decoding: error.jsonPayload, as: UTF8.self) == #"{"errorMessage":"m","errorType":"Function.Unknown","stackTrace":[]}"#)
    }
}
