/// The runtime's own failures: a closed set, each with a stable `Runtime.*` type for the logs.
enum RuntimeError: Error, Equatable {
    /// libcurl could not be set up (out of memory, broken library).
    case clientSetupFailed(String)
    /// The Runtime API could not be reached, or the connection broke during an exchange.
    case connectionFailed(endpoint: String, detail: String)
    /// 403 on `/next`: the Runtime API says this process is in the wrong state to take work.
    case invalidState(endpoint: String)
    /// A 5xx: the Runtime API cannot go on with this process; Lambda restarts it.
    case apiServerError(endpoint: String, status: Int)
    /// 400: a stale or unknown request id, or a malformed request.
    case requestRejected(endpoint: String)
    /// 413: the response was over Lambda's payload limit; Lambda has already failed the invocation.
    case responseTooLarge(endpoint: String)
    /// Any other status the Runtime API does not document.
    case unexpectedStatus(endpoint: String, status: Int)
    /// A `/next` answer without `Lambda-Runtime-Aws-Request-Id`: nothing can be posted for it.
    case missingRequestID
    /// A header line of the answer over the runtime's limit: the invocation cannot be read.
    case headerTooLarge(endpoint: String, name: String, size: Int, limit: Int)
    /// All header lines of the answer together over the runtime's limit, `at` the one that crossed it.
    case headersTooLarge(endpoint: String, size: Int, at: String, limit: Int)
    /// A header line at libcurl's own limit or over, which libcurl drops unseen: only its place is known.
    case headerOverLibcurlLimit(endpoint: String, after: String?, limit: Int)

    var errorType: String {
        switch self {
        case .clientSetupFailed: "Runtime.ClientSetupFailed"
        case .connectionFailed: "Runtime.ConnectionFailed"
        case .invalidState: "Runtime.InvalidState"
        case .apiServerError: "Runtime.ApiServerError"
        case .requestRejected: "Runtime.RequestRejected"
        case .responseTooLarge: "Runtime.ResponseTooLarge"
        case .unexpectedStatus: "Runtime.UnexpectedStatus"
        case .missingRequestID: "Runtime.MissingRequestId"
        case .headerTooLarge, .headersTooLarge, .headerOverLibcurlLimit: "Runtime.HeaderTooLarge"
        }
    }

    var message: String {
        switch self {
        case .clientSetupFailed(let detail): "Cannot set up the Runtime API client: \(detail)"
        case .connectionFailed(let endpoint, let detail): "Runtime API unreachable at \(endpoint): \(detail)"
        case .invalidState(let endpoint): "Runtime API refused \(endpoint) (403): the runtime is in the wrong state"
        case .apiServerError(let endpoint, let status): "Runtime API failed on \(endpoint) (\(status))"
        case .requestRejected(let endpoint): "Runtime API rejected \(endpoint) (400): stale request id or malformed request"
        case .responseTooLarge(let endpoint): "Runtime API rejected \(endpoint) (413): response over the payload limit"
        case .unexpectedStatus(let endpoint, let status): "Runtime API answered \(endpoint) with unexpected status \(status)"
        case .missingRequestID: "Runtime API sent an invocation without \(RuntimeAPI.Header.requestID)"
        case .headerTooLarge(let endpoint, let name, let size, let limit):
            "Runtime API answered \(endpoint) with a \(name) header of \(size) bytes, over the runtime's limit of \(limit) bytes: the invocation cannot be read"
        case .headersTooLarge(let endpoint, let size, let name, let limit):
            "Runtime API answered \(endpoint) with \(size) bytes of headers up to and including \(name), over the runtime's limit of \(limit) bytes for all headers: the invocation cannot be read"
        case .headerOverLibcurlLimit(let endpoint, let after, let limit):
            "Runtime API answered \(endpoint) with a header line of \(limit) bytes or more, which the linked libcurl drops unseen (its CURL_MAX_HTTP_HEADER), so only its place is known (\(after.map { "the header after \($0)" } ?? "the first header")): the invocation cannot be read"
        }
    }

    /// `errorType: message`, the form written to the log.
    var logMessage: String { "\(errorType): \(message)" }
}
