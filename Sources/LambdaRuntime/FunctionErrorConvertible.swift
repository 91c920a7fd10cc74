/// A typed failure that knows which Lambda error it becomes. Each module's error type adopts it
/// once (as aws-lambda-rust-runtime's `impl From<E> for Diagnostic`), so a handler writes
/// `throw FunctionError(error)` and never spells an `errorType` itself: one kind of failure always
/// reaches Lambda, the logs and the metrics under one type.
public protocol FunctionErrorConvertible: Error {
    /// The Lambda error for this failure. Its message is shown to the caller: never a secret.
    var functionError: FunctionError { get }
}

extension FunctionError {
    /// The Lambda error a typed failure converts to.
    public init(_ error: some FunctionErrorConvertible) {
        self = error.functionError
    }
}
