/// SplitMix64: a tiny generator whose whole state is one number, so a failing input is reproduced
/// from the seed printed with it. Its own non-generic helpers, not `Int.random(in:using:)`: tests
/// build unoptimised, where the generic path costs most of a fuzz run's time.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A number in 0..<bound (bound > 0); the modulo bias is irrelevant for fuzzing.
    public mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next() % UInt64(bound))
    }

    public mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    public mutating func byte() -> UInt8 {
        UInt8(truncatingIfNeeded: next())
    }
}
