/// The levels of `AWS_LAMBDA_LOG_LEVEL`, lowest first.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, warn, error, fatal

    /// The spelling Lambda uses in the variable and in the JSON `level` field.
    public var name: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warn: "WARN"
        case .error: "ERROR"
        case .fatal: "FATAL"
        }
    }

    /// Accepts any case, as Lambda does; nil for anything else.
    public init?(name: String) {
        let upper = name.uppercased()
        guard let level = LogLevel.allCases.first(where: { $0.name == upper }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// `AWS_LAMBDA_LOG_FORMAT`.
public enum LogFormat: Sendable {
    case text, json
}

/// Pure formatting of one log event; the logger adds the clock and the write.
enum LogLineFormatter {
    /// One event as one line, ending in `\n`.
    /// - JSON: `{"timestamp":"…","level":"INFO","message":"…","requestId":"…"}` (`requestId` only
    ///   inside an invocation), the shape Lambda's log filtering reads.
    /// - Text: `timestamp\trequestId\tLEVEL\tmessage`, the managed runtimes' layout; every `\n` of the
    ///   message becomes `\r` so a multi-line message stays one CloudWatch event, and every tab of a
    ///   value (message or request id) becomes the two characters `\t`, so a value can never add a
    ///   field to the tab-separated line.
    static func line(format: LogFormat, level: LogLevel, message: String, requestID: String?, millisecondsSinceEpoch: Int64) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(message.utf8.count + 96)
        switch format {
        case .json:
            line.append(contentsOf: #"{"timestamp":""#.utf8)
            appendTimestamp(millisecondsSinceEpoch, to: &line)
            line.append(contentsOf: #"","level":""#.utf8)
            line.append(contentsOf: level.name.utf8)
            line.append(contentsOf: #"","message":"#.utf8)
            JSONText.appendQuoted(message, to: &line)
            if let requestID {
                line.append(contentsOf: #","requestId":"#.utf8)
                JSONText.appendQuoted(requestID, to: &line)
            }
            line.append(UInt8(ascii: "}"))
        case .text:
            appendTimestamp(millisecondsSinceEpoch, to: &line)
            line.append(UInt8(ascii: "\t"))
            if let requestID {
                appendTextField(requestID, to: &line)
                line.append(UInt8(ascii: "\t"))
            }
            line.append(contentsOf: level.name.utf8)
            line.append(UInt8(ascii: "\t"))
            appendTextField(message, to: &line)
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// One value of the text format: `\n` becomes `\r` (one CloudWatch event), a tab becomes `\t`
    /// written out (the separator stays the separator).
    private static func appendTextField(_ value: String, to line: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\n"): line.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "\t"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            default: line.append(byte)
            }
        }
    }

    /// RFC 3339 UTC with milliseconds, `2024-02-29T23:59:59.123Z`, computed without the C library's
    /// time-zone machinery (civil-from-days, H. Hinnant's algorithm).
    static func appendTimestamp(_ millisecondsSinceEpoch: Int64, to output: inout [UInt8]) {
        let milliseconds = millisecondsSinceEpoch.modulo(1000)
        let seconds = (millisecondsSinceEpoch - milliseconds) / 1000
        let secondOfDay = seconds.modulo(86_400)
        let days = (seconds - secondOfDay) / 86_400

        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

        appendDigits(year, count: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &output)
        output.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, count: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &output)
        output.append(UInt8(ascii: "."))
        appendDigits(milliseconds, count: 3, to: &output)
        output.append(UInt8(ascii: "Z"))
    }

    /// Zero-padded decimal; years outside 0...9999 are clamped (they cannot come from a real clock).
    private static func appendDigits(_ value: Int64, count: Int, to output: inout [UInt8]) {
        var remaining = min(max(value, 0), 9999)
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: count)
        for index in stride(from: count - 1, through: 0, by: -1) {
            digits[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        output.append(contentsOf: digits)
    }
}

extension Int64 {
    /// The mathematical modulo (never negative), for timestamps before 1970.
    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
