/// Writes commands in the only form Redis needs from a client: an array of bulk strings.
///
/// Every argument is length-prefixed, so user data (keys, values, script arguments) is never
/// interpreted and never concatenated into a command line: binary-safe by construction.
public enum RESPEncoder {
    private static let crlf: [UInt8] = [0x0D, 0x0A]

    public static func encode(_ command: RedisCommand, into buffer: inout [UInt8]) {
        appendHeader(marker: UInt8(ascii: "*"), count: command.arguments.count, into: &buffer)
        for argument in command.arguments {
            appendHeader(marker: UInt8(ascii: "$"), count: argument.count, into: &buffer)
            buffer.append(contentsOf: argument)
            buffer.append(contentsOf: crlf)
        }
    }

    /// All commands back to back: one buffer for one write (a pipeline).
    public static func encode(_ commands: [RedisCommand]) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(commands.reduce(0) { $0 + estimatedSize(of: $1) })
        for command in commands {
            encode(command, into: &buffer)
        }
        return buffer
    }

    private static func estimatedSize(of command: RedisCommand) -> Int {
        command.arguments.reduce(16) { $0 + $1.count + 16 }
    }

    /// `*N\r\n` or `$N\r\n`, digits written directly: no String is built on the hot path.
    private static func appendHeader(marker: UInt8, count: Int, into buffer: inout [UInt8]) {
        buffer.append(marker)
        appendDecimal(count, into: &buffer)
        buffer.append(contentsOf: crlf)
    }

    private static func appendDecimal(_ value: Int, into buffer: inout [UInt8]) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
            remaining %= divisor
            divisor /= 10
        }
    }
}
