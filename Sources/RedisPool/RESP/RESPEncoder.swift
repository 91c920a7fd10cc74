/// Writes commands in the only form Redis needs from a client: an array of bulk strings.
///
/// Every argument is length-prefixed, so user data (keys, values, script arguments) is never
/// interpreted and never concatenated into a command line: binary-safe by construction.
public enum RESPEncoder {
    /// All commands back to back: one buffer for one write (a pipeline).
    ///
    /// The exact size is counted first and every byte then written in place: a batch's script
    /// call has thousands of arguments, and growing an array argument by argument (with its
    /// capacity and uniqueness checks on every append) cost more than the rest of the send.
    public static func encode(_ commands: [RedisCommand]) -> [UInt8] {
        var size = 0
        for command in commands {
            size += headerSize(count: command.arguments.count)
            for argument in command.arguments {
                size += headerSize(count: argument.count) + argument.count + 2
            }
        }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initializedCount in
            var offset = 0
            for command in commands {
                writeHeader(marker: UInt8(ascii: "*"), count: command.arguments.count, into: buffer, at: &offset)
                for argument in command.arguments {
                    writeHeader(marker: UInt8(ascii: "$"), count: argument.count, into: buffer, at: &offset)
                    argument.withUnsafeBufferPointer { source in
                        _ = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + source.count)]).initialize(fromContentsOf: source)
                    }
                    offset += argument.count
                    writeCRLF(into: buffer, at: &offset)
                }
            }
            initializedCount = offset
        }
    }

    /// `*N\r\n` or `$N\r\n`: the marker, the digits, CR LF.
    private static func headerSize(count: Int) -> Int {
        3 + decimalDigitCount(count)
    }

    private static func decimalDigitCount(_ value: Int) -> Int {
        var digits = 1
        var remaining = value
        while remaining >= 10 {
            remaining /= 10
            digits += 1
        }
        return digits
    }

    /// Digits written directly: no String is built on the hot path.
    private static func writeHeader(marker: UInt8, count: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: inout Int) {
        buffer[offset] = marker
        let digits = decimalDigitCount(count)
        var remaining = count
        for position in stride(from: offset + digits, to: offset, by: -1) {
            buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        offset += 1 + digits
        writeCRLF(into: buffer, at: &offset)
    }

    private static func writeCRLF(into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: inout Int) {
        buffer[offset] = 0x0D
        buffer[offset + 1] = 0x0A
        offset += 2
    }
}
