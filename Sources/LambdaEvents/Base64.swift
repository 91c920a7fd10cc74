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
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { output, initializedCount in
            var written = 0
            var index = 0
            while index < input.count {
                let isLastQuad = index + 4 == input.count
                // Padding only in the last quad's last two places (`=` is not in the alphabet, so
                // anywhere else it fails like any other foreign byte).
                let third = isLastQuad && padding == 2 ? 0 : sextets[Int(input[index + 2])]
                let fourth = isLastQuad && padding >= 1 ? 0 : sextets[Int(input[index + 3])]
                let first = sextets[Int(input[index])]
                let second = sextets[Int(input[index + 1])]
                guard (first | second | third | fourth) & invalid == 0 else {
                    failed = true
                    break
                }
                let accumulator = UInt32(first) << 18 | UInt32(second) << 12 | UInt32(third) << 6 | UInt32(fourth)
                output[written] = UInt8(truncatingIfNeeded: accumulator >> 16)
                written += 1
                if written < outputCount {
                    output[written] = UInt8(truncatingIfNeeded: accumulator >> 8)
                    written += 1
                }
                if written < outputCount {
                    output[written] = UInt8(truncatingIfNeeded: accumulator)
                    written += 1
                }
                index += 4
            }
            initializedCount = written
        }
        return failed ? nil : output
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
