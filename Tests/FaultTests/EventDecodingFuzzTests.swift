import LambdaEvents
import PriceCache
import Testing
import TestSupport

/// Seeded fuzzing of everything that reads an event's bytes: the JSON parser, the batch and HTTP
/// request shapes, each record's payload, and the domain values (price updates, signals, alert
/// statuses) built from them. A crash fails the run; beyond crashes, every accepted document must
/// write back to bytes that parse to the same value.
///
/// Serialized, each shard on its own thread (`onOwnThread`): a few seconds of CPU per shard must
/// not hold Swift's cooperative threads away from the rest of the suite.
@Suite(.serialized) struct EventDecodingFuzzTests {
    /// Each shard is reproducible from its seed alone.
    static let shards = Array(0..<8)
    static let inputsPerShard = FuzzBudget.inputs(50_000)

    @Test("event decoding survives mutated and random inputs", arguments: shards)
    func eventDecodingSurvives(shard: Int) async {
        let seed = 0x5EED_E7E4_0000 + UInt64(shard)
        let (outcomes, problem) = await onOwnThread { Self.fuzz(seed: seed) }
        #expect(problem == nil, "seed \(seed): \(problem ?? "")")
        // Inputs that still parse reach the shape decoders; a mutator that only made garbage
        // would test the first byte of the parser and nothing else.
        #expect(outcomes.parsed > Self.inputsPerShard / 50, "too few inputs parsed: \(outcomes)")
        #expect(outcomes.shapesDecoded > 0, "no input reached a decoded shape: \(outcomes)")
        #expect(outcomes.domainValues > 0, "no input reached a domain value: \(outcomes)")
        #expect(outcomes.rejected > 0)
    }

    /// Runs one shard; stops at the first broken invariant and says which input broke it.
    private static func fuzz(seed: UInt64) -> (DecodingOutcomes, String?) {
        var mutator = InputMutator(seed: seed, corpus: EventCorpus.seeds, tokens: EventCorpus.tokens)
        var outcomes = DecodingOutcomes()
        for index in 0..<inputsPerShard {
            let input = mutator.next()
            if let problem = decode(input, outcomes: &outcomes) {
                return (outcomes, "input \(index): \(problem)")
            }
        }
        return (outcomes, nil)
    }

    /// Decodes one input every way a function would; returns a broken invariant, if any.
    private static func decode(_ input: [UInt8], outcomes: inout DecodingOutcomes) -> String? {
        let value: JSONValue
        do {
            value = try JSONParser.parse(input)
        } catch {
            outcomes.rejected += 1
            return error.offset >= 0 && error.offset <= input.count ? nil : "error offset \(error.offset) outside the input"
        }
        outcomes.parsed += 1
        let written = value.jsonBytes
        guard (try? JSONParser.parse(written)) == value else {
            return "accepted document does not round-trip: \(String(decoding: written.prefix(200), as: UTF8.self))"
        }
        decodeDomainValues(value, outcomes: &outcomes)
        if RecordBatch.matches(value), let batch = try? RecordBatch(event: value) {
            outcomes.shapesDecoded += 1
            for record in batch.records {
                if case .success(let payload) = record.payload, let json = try? JSONParser.parse(payload) {
                    decodeDomainValues(json, outcomes: &outcomes)
                }
            }
            _ = PartialBatchResponse(failedItemIdentifiers: batch.records.map(\.itemIdentifier)).json.jsonBytes
        }
        if HTTPAPIRequest.matches(value), let request = try? HTTPAPIRequest(event: value) {
            outcomes.shapesDecoded += 1
            if let body = request.body { _ = try? JSONParser.parse(body) }
        }
        return nil
    }
}

extension EventDecodingFuzzTests {
    /// Every domain reading of one JSON value; what they accept must make a well-formed cache write.
    private static func decodeDomainValues(_ value: JSONValue, outcomes: inout DecodingOutcomes) {
        if let update = try? PriceUpdate(json: value) {
            outcomes.domainValues += 1
            _ = update.cacheWrite
        }
        if let signal = try? TradingSignal(json: value) {
            outcomes.domainValues += 1
            _ = signal.cacheWrite
        }
        if AlertStatus.matches(value), let status = try? AlertStatus(json: value) {
            outcomes.domainValues += 1
            _ = status.cacheWrite
        }
    }
}

struct DecodingOutcomes: Sendable, CustomStringConvertible {
    var parsed = 0
    var rejected = 0
    var shapesDecoded = 0
    var domainValues = 0

    var description: String {
        "parsed \(parsed), rejected \(rejected), shapes decoded \(shapesDecoded), domain values \(domainValues)"
    }
}
