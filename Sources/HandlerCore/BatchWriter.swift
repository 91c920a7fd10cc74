import LambdaEvents
import LambdaRuntime
import PriceCache
import RedisPool

/// Writes a batch of payloads in one round trip and tells, item by item, what happened, so one
/// bad record fails alone: in a partial batch response (Kinesis, SQS) or a direct-invoke summary.
struct BatchWriter<Function: CacheFunction> {
    let function: Function
    let store: CacheStore
    let deadline: ContinuousClock.Instant
    let logger: LambdaLogger

    enum ItemFailure: Error {
        case invalid(FieldError)
        case redis(RedisError)

        var message: String {
            switch self {
            case .invalid(let error): error.description
            case .redis(let error): error.description
            }
        }
    }

    /// A failure of the whole round trip throws (nothing is known about any item, so the event
    /// source retries the batch); failures of single items come back in place.
    func write(_ payloads: [Result<JSONValue, FieldError>], metrics: inout InvocationMetrics) throws(FunctionError) -> [Result<WriteOutcome, ItemFailure>] {
        let writes = payloads.map { payload in
            payload.flatMap { json in Result { () throws(FieldError) in try function.write(for: json) } }
        }
        let valid = writes.compactMap { try? $0.get() }
        let outcomes: [Result<WriteOutcome, RedisError>]
        do {
            outcomes = try metrics.timingRedis { () throws(RedisError) in try store.write(valid, deadline: deadline) }
        } catch {
            throw FunctionError(error)
        }
        var nextOutcome = outcomes.makeIterator()
        return Self.results(
            writes.map { write in
                write.map { _ in nextOutcome.next() ?? .failure(RedisError(.protocolError, "fewer replies than writes")) }
            }, metrics: &metrics)
    }

    /// `write` for payloads decoded one by one (`payload(index)`, asked once per item, in order)
    /// while the first ones' writes already run in Redis (`CacheStore.write(count:deadline:decoding:)`):
    /// the same results, the Redis wait overlapped with the decoding of a large batch.
    /// `RedisTime` then covers the decoding done while the writes were under way.
    func write(
        count: Int, payload: @escaping (Int) -> Result<JSONValue, FieldError>, metrics: inout InvocationMetrics
    ) throws(FunctionError) -> [Result<WriteOutcome, ItemFailure>] {
        // Set by the decoding (which runs inside the store's write) for the items that make no write.
        var invalid = [FieldError?](repeating: nil, count: count)
        let function = function
        let outcomes: [Result<WriteOutcome, RedisError>?]
        do {
            outcomes = try metrics.timingRedis { () throws(RedisError) in
                try store.write(count: count, deadline: deadline) { index in
                    switch payload(index).flatMap({ json in Result { () throws(FieldError) in try function.write(for: json) } }) {
                    case .success(let write):
                        return write
                    case .failure(let error):
                        invalid[index] = error
                        return nil
                    }
                }
            }
        } catch {
            throw FunctionError(error)
        }
        return Self.results(
            (0..<count).map { index in
                if let outcome = outcomes[index] { return .success(outcome) }
                return .failure(invalid[index] ?? FieldError(field: "", problem: "the record was not decoded"))
            }, metrics: &metrics)
    }

    /// Per item: its invalidity, or its write's outcome; counted in `metrics`.
    private static func results(
        _ items: [Result<Result<WriteOutcome, RedisError>, FieldError>], metrics: inout InvocationMetrics
    ) -> [Result<WriteOutcome, ItemFailure>] {
        items.map { item in
            switch item {
            case .failure(let error):
                metrics.invalid += 1
                return .failure(.invalid(error))
            case .success(let outcome):
                switch outcome {
                case .success(.written): metrics.recordsWritten += 1
                case .success(.stale): metrics.staleSkipped += 1
                case .failure: metrics.redisErrors += 1
                }
                return outcome.mapError { .redis($0) }
            }
        }
    }

    /// A Kinesis or SQS batch: exactly the records that failed are listed for retry. Each
    /// record's payload is parsed when its turn to be written comes (`write(count:payload:)`).
    func answer(_ batch: RecordBatch, metrics: inout InvocationMetrics) throws(FunctionError) -> PartialBatchResponse {
        let records = batch.records
        let results = try write(
            count: records.count,
            payload: { index in
                records[index].payload.flatMap { bytes in
                    Result { () throws(FieldError) in
                        do {
                            return try JSONParser.parse(bytes)
                        } catch {
                            throw FieldError(field: "", problem: "the payload is not valid JSON: \(error)")
                        }
                    }
                }
            }, metrics: &metrics)
        var failed: [String] = []
        for (record, result) in zip(records, results) {
            guard case .failure(let failure) = result else { continue }
            logger.warn("\(batch.source.rawValue) record \(record.itemIdentifier) failed: \(failure.message)")
            failed.append(record.itemIdentifier)
        }
        return PartialBatchResponse(failedItemIdentifiers: failed)
    }

    /// `{"prices":[...]}` invoked directly: the valid items are written, the others reported by index.
    func answerDirectBatch(_ items: JSONValue, metrics: inout InvocationMetrics) throws(FunctionError) -> JSONValue {
        guard let elements = items.arrayValue else {
            metrics.invalid += 1
            throw .invalidEvent("\(function.batchMember): must be an array, got \(items.typeName)")
        }
        let results = try write(count: elements.count, payload: { .success(elements[$0]) }, metrics: &metrics)
        var failures: [JSONValue] = []
        for (index, result) in results.enumerated() {
            guard case .failure(let failure) = result else { continue }
            let message: String
            switch failure {
            case .invalid(let error): message = error.within("\(function.batchMember)[\(index)]").description
            case .redis(let error): message = error.description
            }
            failures.append(.object(["index": .integer(index), "error": .string(message)]))
        }
        var summary = Self.summary(results)
        summary.append(JSONMember("failures", .array(failures)))
        return .object(summary)
    }

    /// One payload invoked directly: its failure is the invocation's.
    func answerDirectPayload(_ payload: JSONValue, metrics: inout InvocationMetrics) throws(FunctionError) -> JSONValue {
        let results = try write([.success(payload)], metrics: &metrics)
        if case .failure(let failure) = results.first {
            switch failure {
            case .invalid(let error): throw .invalidEvent(error.description)
            case .redis(let error): throw FunctionError(error)
            }
        }
        return .object(Self.summary(results))
    }

    private static func summary(_ results: [Result<WriteOutcome, ItemFailure>]) -> [JSONMember] {
        let written = results.count { (try? $0.get()) == .written }
        let stale = results.count { (try? $0.get()) == .stale }
        return [JSONMember("written", .integer(written)), JSONMember("stale", .integer(stale))]
    }
}
