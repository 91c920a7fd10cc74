import TestSupport

/// Makes fuzz inputs the way coverage-blind fuzzers that still find bugs do: mostly valid inputs
/// with a few stacked mutations (parsers reject pure noise at the first byte, so noise alone tests
/// little), format tokens spliced in (length prefixes, delimiters, quotes), boundary numbers, and
/// some inputs of plain random bytes.
struct InputMutator {
    private var random: SplitMix64
    private let corpus: [[UInt8]]
    private let tokens: [[UInt8]]
    private let maximumLength: Int

    /// Numbers at the edges of parsers' integer handling, as text.
    private static let boundaryNumbers: [[UInt8]] = [
        "0", "-1", "-0", "1", "127", "128", "255", "256", "65535", "65536", "2147483647", "-2147483648",
        "4294967296", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "18446744073709551616", "99999999999999999999999999", "1e308", "1e309", "-1e309", "NaN", "0x10",
        "+5", " 5", "5 ", "",
    ].map { Array($0.utf8) }

    init(seed: UInt64, corpus: [[UInt8]], tokens: [[UInt8]], maximumLength: Int = 4096) {
        random = SplitMix64(seed: seed)
        self.corpus = corpus
        self.tokens = tokens + Self.boundaryNumbers
        self.maximumLength = maximumLength
    }

    mutating func next() -> [UInt8] {
        if corpus.isEmpty || random.below(16) == 0 {
            return randomBytes(count: random.within(0...64))
        }
        var input = corpus[random.below(corpus.count)]
        for _ in 0..<random.within(1...6) {
            mutate(&input)
        }
        if input.count > maximumLength { input.removeLast(input.count - maximumLength) }
        return input
    }

    /// Splits an input into 1 to 8 pieces, as bytes arrive from a socket.
    mutating func chunks(of input: [UInt8]) -> [ArraySlice<UInt8>] {
        guard input.count > 1 else { return [input[...]] }
        let cuts = (0..<random.within(0...7))
            .map { _ in 1 + random.below(input.count - 1) }
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        for cut in Set(cuts).sorted() {
            pieces.append(input[start..<cut])
            start = cut
        }
        pieces.append(input[start...])
        return pieces
    }

    private mutating func mutate(_ input: inout [UInt8]) {
        let position = random.within(0...input.count)
        switch random.below(9) {
        case 0 where !input.isEmpty:  // flip one bit
            let index = min(position, input.count - 1)
            input[index] ^= 1 << UInt8(random.below(8))
        case 1 where !input.isEmpty:  // overwrite one byte
            input[min(position, input.count - 1)] = random.byte()
        case 2:  // insert random bytes
            input.insert(contentsOf: randomBytes(count: random.within(1...8)), at: position)
        case 3 where !input.isEmpty:  // delete a range
            let end = min(input.count, position + random.within(1...16))
            input.removeSubrange(min(position, input.count - 1)..<end)
        case 4 where !input.isEmpty:  // repeat a range, up to nesting or length limits
            let start = min(position, input.count - 1)
            let piece = input[start..<min(input.count, start + random.within(1...32))]
            // A plain loop: `repeatElement(...).joined()` is 100x slower unoptimised.
            var repeated: [UInt8] = []
            for _ in 0..<random.within(2...64) { repeated.append(contentsOf: piece) }
            input.insert(contentsOf: repeated, at: start)
        case 5:  // insert a format token or a boundary number
            input.insert(contentsOf: tokens[random.below(tokens.count)], at: position)
        case 6 where !input.isEmpty:  // replace the digits at a position by a boundary number
            let start = min(position, input.count - 1)
            var end = start
            while end < input.count, input[end] >= 0x30, input[end] <= 0x39 { end += 1 }
            let number = Self.boundaryNumbers[random.below(Self.boundaryNumbers.count)]
            input.replaceSubrange(start..<end, with: number)
        case 7:  // splice: this input's head, another's tail
            let other = corpus[random.below(corpus.count)]
            let cut = random.within(0...other.count)
            input = Array(input[..<position]) + other[cut...]
        default:  // truncate
            input.removeSubrange(position...)
        }
    }

    private mutating func randomBytes(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices { bytes[index] = random.byte() }
        return bytes
    }
}
