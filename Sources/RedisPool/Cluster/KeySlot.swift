/// Which of Redis Cluster's 16,384 hash slots a key belongs to, computed as the server does
/// (Redis Cluster specification, "Key distribution model"): CRC16 in its XMODEM variant
/// (polynomial 0x1021, initial value 0, no reflection, no final xor) of the key, modulo 16,384.
///
/// Hash tags: when the key holds a `{` followed later by a `}` with at least one byte between
/// them, only the bytes between the first `{` and the first `}` after it are hashed, so that
/// `{user1000}.following` and `{user1000}.followers` share a slot. `foo{}{bar}` hashes whole
/// (the first pair is empty), `foo{{bar}}` hashes `{bar`.
public enum KeySlot {
    public static let count = 16_384

    public static func of(_ key: String) -> Int {
        of(Array(key.utf8))
    }

    public static func of(_ key: [UInt8]) -> Int {
        key.withUnsafeBufferPointer { bytes in
            let hashed = hashedPart(of: bytes)
            return Int(crc16(UnsafeBufferPointer(rebasing: hashed)) & UInt16(count - 1))
        }
    }

    /// The bytes that decide the slot: the hash tag when there is a non-empty one, else all.
    static func hashedPart(of key: UnsafeBufferPointer<UInt8>) -> Slice<UnsafeBufferPointer<UInt8>> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
            close > open + 1
        else { return key[...] }
        return key[(open + 1)..<close]
    }

    static func crc16(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The byte-at-a-time table of the polynomial, made once.
    private static let table: [UInt16] = (0..<256).map { index in
        var value = UInt16(index) << 8
        for _ in 0..<8 {
            value = value & 0x8000 != 0 ? (value << 1) ^ 0x1021 : value << 1
        }
        return value
    }
}
