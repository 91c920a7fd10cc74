/// What the loop does after a Runtime API reply, as the Runtime API documents it. Pure.
enum ReplyVerdict: Equatable {
    case proceed
    /// Worth another try: the connection failed before any byte of an answer.
    case retry(RuntimeError)
    /// Log and go back to `/next`.
    case logAndProceed(RuntimeError)
    /// Log and end the process non-zero; Lambda starts a fresh one.
    case exit(RuntimeError)
    /// The invocation cannot be run: fail it (post this error for its request id when the id is
    /// known), then go back to `/next`. The process is sound.
    case failInvocation(RuntimeError)
}

enum StatusPolicy {
    static let nextEndpoint = "/next"

    /// `GET /next`: 200 carries an event; 403 (wrong state) and any 5xx end the process at once; a
    /// connection refused or reset before an answer began may be retried.
    static func afterNext(_ reply: RuntimeAPIReply) -> ReplyVerdict {
        switch reply {
        case .status(200):
            return .proceed
        case .status(403):
            return .exit(.invalidState(endpoint: nextEndpoint))
        case .status(let status) where status >= 500:
            return .exit(.apiServerError(endpoint: nextEndpoint, status: status))
        case .status(let status):
            return .exit(.unexpectedStatus(endpoint: nextEndpoint, status: status))
        case .transportFailure(let detail, let receivedResponseBytes):
            let failure = RuntimeError.connectionFailed(endpoint: nextEndpoint, detail: detail)
            return receivedResponseBytes ? .exit(failure) : .retry(failure)
        case .unreadableHead(let failure):
            return .failInvocation(failure)
        }
    }

    /// `POST /response` and `/error`: 400 (stale id) and 413 (too large: Lambda has already failed the
    /// invocation, so no `/error` follows) are logged and the loop goes on; any 5xx ends the process.
    /// A broken connection ends it too: whether Lambda got the answer is unknown, and a fresh
    /// process is the only clean state.
    static func afterPost(_ reply: RuntimeAPIReply, endpoint: String) -> ReplyVerdict {
        switch reply {
        case .status(200...299):
            return .proceed
        case .status(400):
            return .logAndProceed(.requestRejected(endpoint: endpoint))
        case .status(413):
            return .logAndProceed(.responseTooLarge(endpoint: endpoint))
        case .status(let status) where status >= 500:
            return .exit(.apiServerError(endpoint: endpoint, status: status))
        case .status(let status):
            return .logAndProceed(.unexpectedStatus(endpoint: endpoint, status: status))
        case .transportFailure(let detail, _):
            return .exit(.connectionFailed(endpoint: endpoint, detail: detail))
        case .unreadableHead(let failure):
            // The answer to a post is not read for anything; a broken one is a broken connection.
            return .exit(.connectionFailed(endpoint: endpoint, detail: failure.message))
        }
    }
}
