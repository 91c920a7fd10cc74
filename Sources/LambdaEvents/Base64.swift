/// Strict standard base64 (RFC 4648 section 4, padded), as Kinesis delivers record data.
///
/// Strict on purpose: a lenient decoder that skips junk would turn a corrupted record into a
/// different, plausible update instead of refusing it.
public enum Base64 {
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        // Record data arrives as a native UTF-8 string, so this reads it in place, without a copy.
        return text.withUTF8 { decode($0) }
    }

    private static func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        guard input.count > 0 else { return [] }
        let padding = input[input.count - 1] == UInt8(ascii: "=") ? (input[input.count - 2] == UInt8(ascii: "=") ? 2 : 1) : 0
        let outputCount = input.count / 4 * 3 - padding
        let lastQuad = input.count - 4
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { output, initializedCount in
            // One table look-up per byte over a buffer (the table's once-token and bounds checked
            // once, not per byte); every quad but the last has three whole bytes and no padding,
            // so only the last is checked for how much it holds. Record data makes this hot.
            failed = sextets.withUnsafeBufferPointer { table in
                var written = 0
                var index = 0
                while index < lastQuad {
                    guard let bits = quad(input, at: index, padding: 0, table: table) else { return true }
                    output[written] = UInt8(truncatingIfNeeded: bits >> 16)
                    output[written + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                    output[written + 2] = UInt8(truncatingIfNeeded: bits)
                    written += 3
                    index += 4
                }
                guard let bits = quad(input, at: lastQuad, padding: padding, table: table) else { return true }
                output[written] = UInt8(truncatingIfNeeded: bits >> 16)
                if padding < 2 { output[written + 1] = UInt8(truncatingIfNeeded: bits >> 8) }
                if padding < 1 { output[written + 2] = UInt8(truncatingIfNeeded: bits) }
                return false
            }
            // Bytes need no deinitialisation: a failed decode hands back an empty array.
            initializedCount = failed ? 0 : outputCount
        }
        return failed ? nil : output
    }

    /// The 24 bits of the quad at `index`, or nil if a byte is outside the alphabet. Padding is
    /// allowed only in the last quad's last `padding` places (`=` is not in the alphabet, so
    /// anywhere else it fails like any other foreign byte).
    @inline(__always)
    private static func quad(_ input: UnsafeBufferPointer<UInt8>, at index: Int, padding: Int, table: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let first = table[Int(input[index])]
        let second = table[Int(input[index + 1])]
        let third = padding == 2 ? 0 : table[Int(input[index + 2])]
        let fourth = padding >= 1 ? 0 : table[Int(input[index + 3])]
        guard (first | second | third | fourth) & invalid == 0 else { return nil }
        return UInt32(first) << 18 | UInt32(second) << 12 | UInt32(third) << 6 | UInt32(fourth)
    }

    /// Marks a byte outside the alphabet in `sextets`.
    private static let invalid: UInt8 = 0x80

    /// Each byte's 6-bit value, or `invalid`: one table look-up per input byte.
    private static let sextets: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(value)
        }
        return table
    }()
}
