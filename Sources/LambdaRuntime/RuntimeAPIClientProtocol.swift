/// What the invocation loop needs from the Runtime API: the next invocation, and the four posts
/// that answer an invocation or the cold start. `RuntimeAPIClient` does it over libcurl; the
/// loop is generic over it (specialised for that client in the functions, so no call goes through
/// an existential), which lets the loop's decisions be tested against a client kept in memory.
protocol RuntimeAPIClientProtocol {
    /// `GET /runtime/invocation/next`: blocks until Lambda has an event. The headers and event
    /// are those of the answer, whatever its status (empty when there was none).
    func nextInvocation() -> (reply: RuntimeAPIReply, headers: InvocationHeaders, event: [UInt8])

    /// `POST /runtime/invocation/{id}/response`.
    func postResponse(requestID: String, body: [UInt8]) -> RuntimeAPIReply

    /// `POST /runtime/invocation/{id}/error`, the error's type in `Lambda-Runtime-Function-Error-Type`.
    func postError(requestID: String, error: FunctionError) -> RuntimeAPIReply

    /// `POST /runtime/init/error`.
    func postInitError(_ error: FunctionError) -> RuntimeAPIReply
}

extension RuntimeAPIClient: RuntimeAPIClientProtocol {}
