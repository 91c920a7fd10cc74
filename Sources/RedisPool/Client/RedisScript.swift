import COpenSSL

/// A Lua script, run with `EVALSHA` by its SHA1 (computed here once, so the server's script cache
/// is hit without a `SCRIPT LOAD` round trip) and sent in full only after `-NOSCRIPT`.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    /// Lower-case hex, as `SCRIPT LOAD` returns it.
    public let sha1: String
    /// Whether a call may be retried after its reply was lost (timeout, dropped connection).
    public let isIdempotent: Bool

    public init(_ source: String, isIdempotent: Bool = false) {
        self.source = source
        self.isIdempotent = isIdempotent
        self.sha1 = Self.sha1Hex(of: Array(source.utf8))
    }

    private static func sha1Hex(of bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        bytes.withUnsafeBufferPointer { input in
            _ = digest.withUnsafeMutableBufferPointer { output in
                SHA1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(digest.count * 2)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
