/// The replies of `MULTI`, N commands and `EXEC`, read as one outcome.
enum TransactionReplies {
    /// `.failure` when nothing ran (`MULTI` refused, a command refused at queueing so `EXEC`
    /// answered `EXECABORT`, or `EXEC` refused); otherwise one result per command.
    static func interpret(_ replies: [RESPValue], commandCount: Int) -> Result<[Result<RESPValue, RedisError>], RedisError> {
        guard replies.count == commandCount + 2, let execReply = replies.last else {
            return .failure(RedisError(.protocolError, "a transaction got \(replies.count) replies for \(commandCount + 2) commands"))
        }
        // The first refusal explains the abort better than EXEC's generic EXECABORT.
        for reply in replies.dropLast() {
            if case .error(let text) = reply { return .failure(RedisError.fromReply(text)) }
        }
        switch execReply {
        case .array(let results) where results.count == commandCount:
            return .success(results.map(RedisClient.result(of:)))
        case .error(let text):
            return .failure(RedisError.fromReply(text))
        case .null:
            return .failure(RedisError(.server(code: "EXECABORT"), "EXECABORT the transaction was aborted by the server"))
        default:
            return .failure(RedisError(.protocolError, "EXEC answered with an unexpected reply"))
        }
    }
}
