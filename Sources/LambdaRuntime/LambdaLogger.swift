/// The function's logger: one line per event, written and flushed at once, in the format and above
/// the level Lambda's log configuration asks for (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`).
public struct LambdaLogger: Sendable {
    public let format: LogFormat
    public let minimumLevel: LogLevel
    /// Set inside an invocation; written into every line.
    public let requestID: String?
    let descriptor: Int32

    public init(format: LogFormat = .text, minimumLevel: LogLevel = .info, requestID: String? = nil) {
        self.init(format: format, minimumLevel: minimumLevel, requestID: requestID, descriptor: StandardStreams.output)
    }

    init(format: LogFormat, minimumLevel: LogLevel, requestID: String?, descriptor: Int32) {
        self.format = format
        self.minimumLevel = minimumLevel
        self.requestID = requestID
        self.descriptor = descriptor
    }

    /// Text and INFO unless the variables say otherwise (any case, as Lambda accepts them); an
    /// unknown value falls back to the default rather than failing the cold start.
    public init(environment: (String) -> String?) {
        let format: LogFormat = environment("AWS_LAMBDA_LOG_FORMAT")?.uppercased() == "JSON" ? .json : .text
        let level = environment("AWS_LAMBDA_LOG_LEVEL").flatMap { LogLevel(name: $0) } ?? .info
        self.init(format: format, minimumLevel: level)
    }

    /// The same configuration, for one invocation.
    public func forRequest(_ requestID: String?) -> LambdaLogger {
        LambdaLogger(format: format, minimumLevel: minimumLevel, requestID: requestID, descriptor: descriptor)
    }

    /// The same configuration, writing to another descriptor (local invocation keeps stdout for results).
    func writing(to descriptor: Int32) -> LambdaLogger {
        LambdaLogger(format: format, minimumLevel: minimumLevel, requestID: requestID, descriptor: descriptor)
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        let line = LogLineFormatter.line(
            format: format, level: level, message: message(), requestID: requestID,
            millisecondsSinceEpoch: WallClock.millisecondsSinceEpoch()
        )
        StandardStreams.emit(line, to: descriptor)
    }

    public func trace(_ message: @autoclosure () -> String) { log(.trace, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message()) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func fatal(_ message: @autoclosure () -> String) { log(.fatal, message()) }
}
