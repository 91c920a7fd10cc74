#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A function over raw bytes: the event as Lambda sent it in, the response body out.
/// The runtime calls it on one thread, one invocation at a time.
public protocol LambdaHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8]
}

/// A function over JSON values. A malformed event becomes `Function.InvalidEvent` without reaching
/// the handler; an output that cannot be encoded becomes `Function.InvalidOutput`.
public protocol CodableLambdaHandler {
    associatedtype Event: Decodable
    associatedtype Output: Encodable
    func handle(_ event: Event, context: LambdaContext) throws(FunctionError) -> Output
}

/// Puts a `CodableLambdaHandler` behind the byte interface; the coders are made once and reused.
public struct CodableHandlerAdapter<Handler: CodableLambdaHandler>: LambdaHandler {
    public let handler: Handler
    private let decoder = JSONDecoder()
    private let encoder = JSONEncoder()

    public init(_ handler: Handler) {
        self.handler = handler
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8] {
        let decoded: Handler.Event
        do {
            decoded = try decoder.decode(Handler.Event.self, from: Data(event))
        } catch {
            throw .invalidEvent("The event is not a valid \(Handler.Event.self): \(CodingFailureDescription(error))")
        }
        let output = try handler.handle(decoded, context: context)
        do {
            return Array(try encoder.encode(output))
        } catch {
            throw .invalidOutput("The output \(Handler.Output.self) could not be encoded: \(CodingFailureDescription(error))")
        }
    }
}

/// A short account of a coding failure: the coding path and the decoder's reason, never the
/// decoded values (an event may carry anything, secrets included).
struct CodingFailureDescription: CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            description = Self.describe(context.codingPath, context.debugDescription)
        case DecodingError.keyNotFound(let key, let context):
            description = Self.describe(context.codingPath + [key], "required key is missing")
        case EncodingError.invalidValue(_, let context):
            description = Self.describe(context.codingPath, context.debugDescription)
        default:
            description = "\(type(of: error))"
        }
    }

    private static func describe(_ path: [any CodingKey], _ reason: String) -> String {
        guard !path.isEmpty else { return reason }
        let dotted = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return "\(dotted): \(reason)"
    }
}
