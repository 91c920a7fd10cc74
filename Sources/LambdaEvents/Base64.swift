/// Strict standard base64 (RFC 4648 section 4, padded), as Kinesis delivers record data.
///
/// Strict on purpose: a lenient decoder that skips junk would turn a corrupted record into a
/// different, plausible update instead of refusing it.
public enum Base64 {
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLastQuad = index + 4 == input.count
            var accumulator: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                if byte == UInt8(ascii: "="), isLastQuad, offset >= 2 {
                    padding += 1
                    accumulator <<= 6
                    continue
                }
                guard padding == 0, let sextet = sextet(of: byte) else { return nil }
                accumulator = accumulator << 6 | UInt32(sextet)
            }
            output.append(UInt8(truncatingIfNeeded: accumulator >> 16))
            if padding < 2 { output.append(UInt8(truncatingIfNeeded: accumulator >> 8)) }
            if padding < 1 { output.append(UInt8(truncatingIfNeeded: accumulator)) }
            index += 4
        }
        return output
    }

    private static func sextet(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
