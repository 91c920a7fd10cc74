/// Authenticates and names a new connection in one round trip:
/// `HELLO 2 AUTH <user> <password> SETNAME <name>`, which also pins RESP2 replies.
/// Servers older than Redis 6 do not know `HELLO`; they get `AUTH` and `CLIENT SETNAME`, still
/// pipelined in one write.
struct Handshake {
    let credentials: RedisCredentials
    let clientName: String

    /// `credentialsRejected`: the server refused the user or the password (`WRONGPASS`, `NOAUTH`),
    /// which a credentials refresh may cure; `NOPERM` (the user lacks a permission) it cannot.
    struct Failure: Error {
        let error: RedisError
        let credentialsRejected: Bool
    }

    func perform(on connection: RedisConnection, deadline: Deadline) throws(Failure) {
        let reply = try exchange([hello], on: connection, deadline: deadline)[0]
        guard case .error(let text) = reply else { return }
        let error = RedisError.fromReply(text)
        guard isUnknownHello(error) else { throw describe(error) }
        for reply in try exchange(legacyCommands, on: connection, deadline: deadline) {
            if case .error(let text) = reply { throw describe(RedisError.fromReply(text)) }
        }
    }

    private var hello: RedisCommand {
        var arguments: [[UInt8]] = [Array("HELLO".utf8), Array("2".utf8)]
        if let password = credentials.password {
            arguments += [Array("AUTH".utf8), Array(credentials.username.utf8), Array(password.utf8)]
        }
        arguments += [Array("SETNAME".utf8), Array(clientName.utf8)]
        return RedisCommand(arguments: arguments)
    }

    /// Before Redis 6 there were no users: `AUTH <password>` only, for the default user.
    private var legacyCommands: [RedisCommand] {
        var commands: [RedisCommand] = []
        if let password = credentials.password {
            commands.append(
                credentials.username == "default"
                    ? RedisCommand("AUTH", password)
                    : RedisCommand("AUTH", credentials.username, password)
            )
        }
        commands.append(RedisCommand("CLIENT", "SETNAME", clientName))
        return commands
    }

    private func isUnknownHello(_ error: RedisError) -> Bool {
        switch error.kind {
        case .server(code: "NOPROTO"): true
        case .server(code: "ERR"): error.message.lowercased().contains("unknown command")
        default: false
        }
    }

    private func exchange(_ commands: [RedisCommand], on connection: RedisConnection, deadline: Deadline) throws(Failure) -> [RESPValue] {
        do {
            return try connection.exchange(commands, deadline: deadline)
        } catch {
            throw Failure(error: error.error, credentialsRejected: false)
        }
    }

    /// Credential errors become `.authentication` with the server's words, which name the user
    /// at most (never the password). Anything else keeps its server code.
    private func describe(_ error: RedisError) -> Failure {
        let failed = "authentication as user '\(credentials.username)' failed"
        switch error.kind {
        case .server(code: "WRONGPASS"), .server(code: "NOAUTH"):
            let hint = credentials.password == nil ? " (no password is configured)" : ""
            return Failure(error: RedisError(.authentication, "\(failed)\(hint): \(error.message)"), credentialsRejected: true)
        case .server(code: "NOPERM"):
            return Failure(error: RedisError(.authentication, "\(failed): \(error.message)"), credentialsRejected: false)
        case .server(code: "ERR") where error.message.contains("invalid password") || error.message.contains("AUTH"):
            return Failure(error: RedisError(.authentication, "\(failed): \(error.message)"), credentialsRejected: true)
        default:
            return Failure(error: RedisError(error.kind, "handshake with the server failed: \(error.message)"), credentialsRejected: false)
        }
    }
}
