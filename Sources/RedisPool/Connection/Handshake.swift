/// Authenticates and names a new connection in one round trip:
/// `HELLO 2 AUTH <user> <token> SETNAME <name>`, which also pins RESP2 replies.
/// Servers older than Redis 6 do not know `HELLO`; they get `AUTH` and `CLIENT SETNAME`, still
/// pipelined in one write.
struct Handshake {
    let configuration: RedisConfiguration

    func perform(on connection: RedisConnection, deadline: Deadline) throws(RedisError) {
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
        if let token = configuration.authToken {
            arguments += [Array("AUTH".utf8), Array(configuration.username.utf8), Array(token.utf8)]
        }
        arguments += [Array("SETNAME".utf8), Array(configuration.clientName.utf8)]
        return RedisCommand(arguments: arguments)
    }

    /// Before Redis 6 there were no users: `AUTH <token>` only, for the default user.
    private var legacyCommands: [RedisCommand] {
        var commands: [RedisCommand] = []
        if let token = configuration.authToken {
            commands.append(
                configuration.username == "default"
                    ? RedisCommand("AUTH", token)
                    : RedisCommand("AUTH", configuration.username, token)
            )
        }
        commands.append(RedisCommand("CLIENT", "SETNAME", configuration.clientName))
        return commands
    }

    private func isUnknownHello(_ error: RedisError) -> Bool {
        switch error.kind {
        case .server(code: "NOPROTO"): true
        case .server(code: "ERR"): error.message.lowercased().contains("unknown command")
        default: false
        }
    }

    private func exchange(_ commands: [RedisCommand], on connection: RedisConnection, deadline: Deadline) throws(RedisError) -> [RESPValue] {
        do {
            return try connection.exchange(commands, deadline: deadline)
        } catch {
            throw error.error
        }
    }

    /// Credential errors become `.authentication` with the server's words, which name the user
    /// at most (never the token). Anything else keeps its server code.
    private func describe(_ error: RedisError) -> RedisError {
        switch error.kind {
        case .server(code: "WRONGPASS"), .server(code: "NOPERM"), .server(code: "NOAUTH"):
            let hint = configuration.authToken == nil ? " (no REDIS_AUTH_TOKEN is set)" : ""
            return RedisError(
                .authentication,
                "authentication as user '\(configuration.username)' failed\(hint): \(error.message)"
            )
        case .server(code: "ERR") where error.message.contains("invalid password") || error.message.contains("AUTH"):
            return RedisError(.authentication, "authentication as user '\(configuration.username)' failed: \(error.message)")
        default:
            return RedisError(error.kind, "handshake with the server failed: \(error.message)")
        }
    }
}
