/// A handler failure. The runtime posts it to `/runtime/invocation/{id}/error` (or to
/// `/runtime/init/error` when it comes from the initialisation hook) with the header
/// `Lambda-Runtime-Function-Error-Type: errorType` and the body `{"errorMessage","errorType","stackTrace":[]}`.
public struct FunctionError: Error, Sendable, Equatable {
    /// `Category.Reason`, e.g. `Function.InvalidEvent`. Lambda keeps only types matching
    /// `(Runtime|Function)\.[A-Z][a-zA-Z]+`; see ``wireErrorType``.
    public let errorType: String
    /// Shown to the caller and written to the logs: never put a secret here.
    public let errorMessage: String

    public init(type: String, message: String) {
        self.errorType = type
        self.errorMessage = message
    }

    /// The event could not be decoded into the handler's `Event` type.
    public static func invalidEvent(_ message: String) -> FunctionError {
        FunctionError(type: "Function.InvalidEvent", message: message)
    }

    /// The handler's output could not be encoded.
    public static func invalidOutput(_ message: String) -> FunctionError {
        FunctionError(type: "Function.InvalidOutput", message: message)
    }

    /// The type actually sent: Lambda (and the Runtime Interface Emulator) turn a malformed type into
    /// `Runtime.Unknown`, which hides that the handler failed; a malformed type is replaced by
    /// `Function.Unknown` instead, and a header value can then never carry CR/LF into the request.
    public var wireErrorType: String {
        FunctionError.isWellFormedErrorType(errorType) ? errorType : "Function.Unknown"
    }

    /// `(Runtime|Function)\.[A-Z][a-zA-Z]+`, the shape Lambda accepts.
    public static func isWellFormedErrorType(_ type: String) -> Bool {
        let bytes = Array(type.utf8)
        let reason: ArraySlice<UInt8>
        if bytes.starts(with: "Function.".utf8) {
            reason = bytes.dropFirst(9)
        } else if bytes.starts(with: "Runtime.".utf8) {
            reason = bytes.dropFirst(8)
        } else {
            return false
        }
        guard let first = reason.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else {
            return false
        }
        return reason.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        }
    }

    /// The body Lambda expects: `{"errorMessage":"…","errorType":"…","stackTrace":[]}`. A stack trace
    /// is never sent: it would leak paths and is of no use for a Swift binary without symbols.
    public var jsonPayload: [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(errorMessage.utf8.count + 64)
        json.append(contentsOf: #"{"errorMessage":"#.utf8)
        JSONText.appendQuoted(errorMessage, to: &json)
        json.append(contentsOf: #","errorType":"#.utf8)
        JSONText.appendQuoted(wireErrorType, to: &json)
        json.append(contentsOf: #","stackTrace":[]}"#.utf8)
        return json
    }
}
