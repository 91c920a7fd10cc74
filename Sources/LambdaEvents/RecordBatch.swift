/// A batch from an event source mapping: Kinesis records or SQS messages, each reduced to what a
/// function needs to process it and to report it in a partial batch response.
///
/// A record whose payload cannot be recovered (bad base64, missing body) carries its own failure
/// instead of failing the batch, so one bad record is retried or dead-lettered alone. A record
/// without an identifier cannot be reported on its own; that makes the whole event invalid (Lambda
/// never sends one).
public struct RecordBatch: Sendable, Equatable {
    public enum Source: String, Sendable {
        case kinesis = "aws:kinesis"
        case sqs = "aws:sqs"
    }

    public let source: Source
    public let records: [BatchRecord]

    /// What of an event to parse: every member, except that a `Records` element keeps only what
    /// `init(event:)` reads. An event without `Records` is not a batch and comes out whole.
    public static let eventSelection: JSONSelection = .object(
        [
            JSONSelectedMember(
                "Records",
                .elements(
                    .object(
                        [
                            JSONSelectedMember("eventSource", .everything),
                            JSONSelectedMember(
                                "kinesis",
                                .object(
                                    [
                                        JSONSelectedMember("sequenceNumber", .everything),
                                        JSONSelectedMember("data", .everything),
                                    ], others: .nothing)),
                            JSONSelectedMember("messageId", .everything),
                            JSONSelectedMember("body", .everything),
                        ], others: .nothing)))
        ], others: .everything)

    /// Whether an event is shaped like a batch at all (has `Records`), before it is checked.
    public static func matches(_ event: JSONValue) -> Bool {
        event["Records"] != nil
    }

    public init(event: JSONValue) throws(FieldError) {
        let fields = try JSONFields(event)
        let elements = try fields.array("Records")
        guard let first = elements.first else {
            throw FieldError(field: "Records", problem: "is empty")
        }
        let source = try within("Records[0]") { () throws(FieldError) in try Self.source(of: first) }
        var records: [BatchRecord] = []
        records.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            let record = try within("Records[\(index)]") { () throws(FieldError) in
                let recordSource = try Self.source(of: element)
                guard recordSource == source else {
                    throw FieldError(field: "eventSource", problem: "must be \(source.rawValue) like the first record, got \(recordSource.rawValue)")
                }
                return try BatchRecord(element, source: source)
            }
            records.append(record)
        }
        self.source = source
        self.records = records
    }

    private static func source(of record: JSONValue) throws(FieldError) -> Source {
        let name = try JSONFields(record).string("eventSource")
        guard let source = Source(rawValue: name) else {
            throw FieldError(field: "eventSource", problem: "must be aws:kinesis or aws:sqs, got \(FieldError.quote(name))")
        }
        return source
    }
}

public struct BatchRecord: Sendable, Equatable {
    /// What a partial batch response names this record by: the Kinesis `sequenceNumber` or the SQS `messageId`.
    public let itemIdentifier: String
    /// The record's payload bytes (Kinesis `data` decoded, SQS `body` as UTF-8), or why it has none.
    public let payload: Result<[UInt8], FieldError>

    public init(itemIdentifier: String, payload: Result<[UInt8], FieldError>) {
        self.itemIdentifier = itemIdentifier
        self.payload = payload
    }

    init(_ record: JSONValue, source: RecordBatch.Source) throws(FieldError) {
        let fields = try JSONFields(record)
        switch source {
        case .kinesis:
            let kinesis = try fields.object("kinesis")
            itemIdentifier = try within("kinesis") { () throws(FieldError) in try kinesis.string("sequenceNumber") }
            payload = Result { () throws(FieldError) in
                let data = try kinesis.string("data")
                guard let bytes = Base64.decode(data) else {
                    throw FieldError(field: "data", problem: "is not valid base64")
                }
                return bytes
            }.mapError { $0.within("kinesis") }
        case .sqs:
            itemIdentifier = try fields.string("messageId")
            payload = Result { () throws(FieldError) in Array(try fields.string("body").utf8) }
        }
    }
}

/// The answer to a batch from Kinesis or SQS when the mapping has `ReportBatchItemFailures`:
/// exactly the records to retry; an empty list means the whole batch succeeded.
public struct PartialBatchResponse: Sendable, Equatable {
    public var failedItemIdentifiers: [String]

    public init(failedItemIdentifiers: [String]) {
        self.failedItemIdentifiers = failedItemIdentifiers
    }

    public var json: JSONValue {
        .object([
            JSONMember("batchItemFailures", .array(failedItemIdentifiers.map { .object(["itemIdentifier": .string($0)]) }))
        ])
    }
}
