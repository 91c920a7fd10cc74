import HandlerCore
import LambdaRuntime
import RedisPool
import Testing

/// Each module's typed failure becomes one Lambda error type, chosen in one place.
@Suite struct ErrorConversionTests {
    @Test(arguments: [
        (RedisError.Kind.configuration, "Function.InvalidConfiguration"),
        (.connectFailed, "Function.RedisUnavailable"),
        (.timeout, "Function.RedisUnavailable"),
        (.authentication, "Function.RedisUnavailable"),
        (.server(code: "READONLY"), "Function.RedisUnavailable"),
    ])
    func aRedisErrorBecomesItsLambdaType(kind: RedisError.Kind, errorType: String) {
        let converted = FunctionError(RedisError(kind, "what happened"))
        #expect(converted.errorType == errorType)
        #expect(converted.errorMessage.contains("what happened"))
    }

    @Test func aSecretLookupFailureIsSecretUnavailable() {
        let converted = FunctionError(SecretsExtensionError.configuration("both variables are set"))
        #expect(converted == FunctionError(type: "Function.SecretUnavailable", message: "both variables are set"))
    }
}
