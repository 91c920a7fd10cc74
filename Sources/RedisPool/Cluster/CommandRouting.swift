/// The slot a command must be sent to, from its key.
///
/// Scripts (`EVAL`, `EVALSHA`, their `_RO` forms, `FCALL`) name their keys after the key count;
/// for them the first key decides (the server refuses with `CROSSSLOT` when the others hash
/// elsewhere). Every other command is taken to have its key first, as all the commands this
/// package's users send do (`GET`, `SET`, `HGETALL`, `HSET`, `EXPIRE`, `TTL`, `DEL` of one key,
/// ...). Commands without a key (`PING`, `INFO`) may go to any primary: nil.
enum CommandRouting {
    private static let keylessCommands: Set<String> = [
        "PING", "ECHO", "INFO", "TIME", "DBSIZE", "CLUSTER", "CLIENT", "HELLO", "AUTH", "SCRIPT", "COMMAND",
        "ASKING", "READONLY", "READWRITE", "LASTSAVE", "ROLE", "MULTI", "EXEC", "DISCARD",
    ]
    private static let scriptCommands: Set<String> = ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]

    static func slot(of command: RedisCommand) -> Int? {
        let name = command.name
        if scriptCommands.contains(name) {
            guard command.arguments.count >= 4,
                let count = Int(String(decoding: command.arguments[2], as: UTF8.self)), count > 0
            else { return nil }
            return KeySlot.of(command.arguments[3])
        }
        guard !keylessCommands.contains(name), command.arguments.count >= 2 else { return nil }
        return KeySlot.of(command.arguments[1])
    }
}
