import RedisPool
import Testing
import TestSupport

/// Seeded fuzzing of the RESP reply parser, the code that reads whatever a server (or anything
/// listening on its port) sends. A crash fails the run. Beyond crashes: the parser is incremental,
/// so the same bytes must give the same replies and the same verdict whether they arrive at once or
/// split anywhere; and every command the encoder writes must parse back to its exact arguments.
/// Serialized, each shard on its own thread, as `EventDecodingFuzzTests` (same reason).
@Suite(.serialized) struct RESPParserFuzzTests {
    static let shards = Array(0..<8)
    static let inputsPerShard = FuzzBudget.inputs(80_000)

    static let seeds: [[UInt8]] = [
        "+OK\r\n", "-ERR unknown command 'FOO'\r\n", "-WRONGTYPE Operation against a key\r\n", ":0\r\n", ":-9223372036854775808\r\n",
        "$5\r\nhello\r\n", "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n", "*3\r\n$4\r\nHSET\r\n:1\r\n$-1\r\n",
        "*2\r\n*2\r\n+a\r\n+b\r\n*1\r\n:7\r\n", "_\r\n", "#t\r\n", "#f\r\n", ",3.14\r\n", ",-inf\r\n", ",nan\r\n", ",1e-5\r\n",
        "(3492890328409238509324850943850943825024385\r\n", "!21\r\nSYNTAX invalid syntax\r\n", "=15\r\ntxt:Some string\r\n",
        "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "~3\r\n+a\r\n+b\r\n:1\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
        "-NOSCRIPT No matching script. Please use EVAL.\r\n$40\r\n0123456789abcdef0123456789abcdef01234567\r\n*2\r\n:1\r\n:0\r\n",
        "+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n", "-MOVED 3999 127.0.0.1:6381\r\n-LOADING Redis is loading\r\n",
    ].map { Array($0.utf8) }

    static let tokens: [[UInt8]] = [
        "\r\n", "\r", "\n", "*", "$", "%", "~", ">", "|", "=", "!", "+", "-", ":", "_", "#", ",", "(", "-1", "-2",
        "*99999999999\r\n", "$536870913\r\n", "*1048577\r\n", "$3\r\nabc", String(repeating: "*1\r\n", count: 40),
        String(repeating: "%1\r\n", count: 20), "txt:", ",inf\r\n", ",-nan\r\n", "#x\r\n", "_x\r\n",
    ].map { Array($0.utf8) }

    @Test("RESP parser survives mutated and random replies", arguments: shards)
    func parserSurvives(shard: Int) async {
        let seed = 0x5EED_2E59_0000 + UInt64(shard)
        let result = await onOwnThread { Self.fuzzParser(seed: seed) }
        #expect(result.problem == nil, "seed \(seed): \(result.problem ?? "")")
        #expect(result.completeReplies > Self.inputsPerShard / 10, "mutations left too few valid replies")
        #expect(result.protocolErrors > Self.inputsPerShard / 10, "mutations left too few invalid replies")
    }

    @Test("encoded commands parse back to their exact arguments", arguments: shards)
    func encoderRoundTrips(shard: Int) async {
        let problem = await onOwnThread { Self.fuzzEncoder(seed: 0x5EED_E2C0_0000 + UInt64(shard)) }
        #expect(problem == nil, "\(problem ?? "")")
    }

    struct ParserRun: Sendable {
        var completeReplies = 0
        var protocolErrors = 0
        var problem: String?
    }

    private static func fuzzParser(seed: UInt64) -> ParserRun {
        var mutator = InputMutator(seed: seed, corpus: seeds, tokens: tokens)
        var run = ParserRun()
        for index in 0..<inputsPerShard {
            let input = mutator.next()
            let whole = parse([input[...]])
            let split = parse(mutator.chunks(of: input))
            guard whole == split else {
                run.problem = "input \(index): \(whole) at once but \(split) in pieces; input \(Array(input.prefix(120)))"
                return run
            }
            run.completeReplies += whole.replies.count
            if whole.failed { run.protocolErrors += 1 }
        }
        return run
    }

    private static func fuzzEncoder(seed: UInt64) -> String? {
        var random = SplitMix64(seed: seed)
        for _ in 0..<inputsPerShard / 8 {
            let arguments = (0..<random.within(1...8)).map { _ in
                (0..<random.within(0...40)).map { _ in random.byte() }
            }
            let encoded = RESPEncoder.encode([RedisCommand(arguments: arguments)])
            let parsed = parse([encoded[...]])
            guard !parsed.failed, parsed.replies == [.array(arguments.map(RESPValue.bulkString))] else {
                return "\(arguments) encoded as \(encoded) parsed as \(parsed)"
            }
        }
        return nil
    }

    /// What a connection would see: every complete reply, and whether a protocol error ended it.
    struct Outcome: Equatable, CustomStringConvertible {
        var replies: [RESPValue] = []
        var failed = false

        // Doubles: NaN never equals itself, so compare the replies as printed.
        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            lhs.failed == rhs.failed && (lhs.replies == rhs.replies || "\(lhs.replies)" == "\(rhs.replies)")
        }

        var description: String { failed ? "\(replies.count) replies then a protocol error" : "\(replies.count) replies" }
    }

    static func parse(_ chunks: [ArraySlice<UInt8>]) -> Outcome {
        var parser = RESPParser()
        var outcome = Outcome()
        do {
            for chunk in chunks {
                parser.append(chunk)
                while let reply = try parser.next() { outcome.replies.append(reply) }
            }
        } catch {
            outcome.failed = true
        }
        return outcome
    }
}
