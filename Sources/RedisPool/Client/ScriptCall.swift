/// `EVALSHA` / `EVAL` commands for a script call: keys and arguments are passed as the script's
/// KEYS and ARGV, never spliced into its source.
enum ScriptCall {
    static func evalsha(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) -> RedisCommand {
        command("EVALSHA", body: Array(script.sha1.utf8), keys: keys, arguments: arguments)
    }

    static func eval(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) -> RedisCommand {
        command("EVAL", body: Array(script.source.utf8), keys: keys, arguments: arguments)
    }

    private static func command(_ name: String, body: [UInt8], keys: [[UInt8]], arguments: [[UInt8]]) -> RedisCommand {
        RedisCommand(arguments: [Array(name.utf8), body, Array(String(keys.count).utf8)] + keys + arguments)
    }
}
