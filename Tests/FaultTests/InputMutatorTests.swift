import Testing

@Suite struct InputMutatorTests {
    @Test func sameSeedSameInputs() {
        let corpus = [Array("{\"a\":[1,2,3]}".utf8), Array("*2\r\n$1\r\na\r\n:5\r\n".utf8)]
        var first = InputMutator(seed: 42, corpus: corpus, tokens: [Array("\r\n".utf8)])
        var second = InputMutator(seed: 42, corpus: corpus, tokens: [Array("\r\n".utf8)])
        for _ in 0..<1_000 {
            #expect(first.next() == second.next())
        }
    }

    @Test func chunksCoverTheInputInOrder() {
        var mutator = InputMutator(seed: 7, corpus: [], tokens: [])
        let input = Array(0..<200).map { UInt8($0) }
        for _ in 0..<100 {
            let pieces = mutator.chunks(of: input)
            #expect(pieces.allSatisfy { !$0.isEmpty })
            #expect(Array(pieces.joined()) == input)
        }
    }
}
