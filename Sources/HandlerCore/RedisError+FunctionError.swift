import LambdaRuntime
import RedisPool

// RedisPool knows nothing of Lambda, so its error's Lambda type is chosen here, once.
extension RedisError: FunctionErrorConvertible {
    /// A configuration the client cannot work with (an endpoint, a secret's shape, a cluster mode
    /// the server contradicts) is `Function.InvalidConfiguration`: retrying cannot help. Anything
    /// else means Redis could not be reached or refused the work: `Function.RedisUnavailable`,
    /// which Lambda (or the event source) retries.
    public var functionError: FunctionError {
        switch kind {
        case .configuration: FunctionError(type: "Function.InvalidConfiguration", message: description)
        default: FunctionError(type: "Function.RedisUnavailable", message: description)
        }
    }
}
