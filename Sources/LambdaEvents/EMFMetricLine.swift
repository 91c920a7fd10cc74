/// One CloudWatch Embedded Metric Format log line: a JSON object whose `_aws` block tells
/// CloudWatch Logs which of its members are metrics, so metrics need no SDK and no API call.
public struct EMFMetricLine: Sendable, Equatable {
    public struct Metric: Sendable, Equatable {
        public var name: String
        /// A CloudWatch unit name: `Count`, `Milliseconds`, ...
        public var unit: String
        public var value: Double

        public init(_ name: String, unit: String, value: Double) {
            self.name = name
            self.unit = unit
            self.value = value
        }
    }

    public var namespace: String
    /// Members that are dimensions, in one dimension set.
    public var dimensions: [(name: String, value: String)]
    public var metrics: [Metric]
    /// Extra members that are searchable in Logs Insights but are not metrics (e.g. `requestId`).
    public var properties: [JSONMember]
    public var timestampMilliseconds: Int64

    public init(namespace: String, dimensions: [(name: String, value: String)], metrics: [Metric], properties: [JSONMember] = [], timestampMilliseconds: Int64)
    {
        self.namespace = namespace
        self.dimensions = dimensions
        self.metrics = metrics
        self.properties = properties
        self.timestampMilliseconds = timestampMilliseconds
    }

    public static func == (lhs: EMFMetricLine, rhs: EMFMetricLine) -> Bool {
        lhs.json == rhs.json
    }

    public var json: JSONValue {
        let directive: JSONValue = .object([
            "Namespace": .string(namespace),
            "Dimensions": .array([.array(dimensions.map { .string($0.name) })]),
            "Metrics": .array(metrics.map { .object(["Name": .string($0.name), "Unit": .string($0.unit)]) }),
        ])
        var members = [
            JSONMember(
                "_aws",
                .object([
                    "Timestamp": .number(String(timestampMilliseconds)),
                    "CloudWatchMetrics": .array([directive]),
                ]))
        ]
        members += dimensions.map { JSONMember($0.name, .string($0.value)) }
        members += metrics.map { JSONMember($0.name, .number(Self.literal($0.value))) }
        members += properties
        return .object(members)
    }

    /// The line to print, newline included: `json`'s text, byte for byte, written straight into
    /// one buffer. Every invocation writes one, so it skips building `json`'s tree of values (on
    /// a direct price update that tree and its release were a sixth of the function's own
    /// instructions, BENCHMARKS.md, issue 13). A process that writes lines of one layout keeps
    /// a `Layout` and writes only the values.
    public var line: [UInt8] {
        Layout(
            namespace: namespace, dimensionNames: dimensions.map(\.name), metrics: metrics.map { ($0.name, $0.unit) },
            propertyNames: properties.map(\.key)
        )
        .line(
            timestampMilliseconds: timestampMilliseconds, dimensionValues: dimensions.map(\.value),
            metricValues: metrics.map(\.value), propertyValues: properties.map(\.value))
    }

    /// What stays the same from one line to the next of a process (the namespace, the names of
    /// the dimensions, metrics and properties, and the units), written once as bytes; `line`
    /// then writes only the values in between. Every invocation writes a line: with its constant
    /// parts written each time the line took 17,600 instructions of a direct update's handler
    /// (27 JSON strings to scan and copy), with a layout about 4,000 (BENCHMARKS.md, issue 13).
    public struct Layout: Sendable {
        /// From `,"CloudWatchMetrics"` to the end of `_aws`.
        private let directive: [UInt8]
        /// `,"name":` for each dimension, metric and property, in order.
        private let dimensionKeys: [[UInt8]]
        private let metricKeys: [[UInt8]]
        private let propertyKeys: [[UInt8]]

        public init(namespace: String, dimensionNames: [String], metrics: [(name: String, unit: String)], propertyNames: [String]) {
            var bytes: [UInt8] = []
            bytes.append(#","CloudWatchMetrics":[{"Namespace":"#)
            JSONValue.writeString(namespace, into: &bytes)
            bytes.append(#","Dimensions":[["#)
            for (index, name) in dimensionNames.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONValue.writeString(name, into: &bytes)
            }
            bytes.append(#"]],"Metrics":["#)
            for (index, metric) in metrics.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(#"{"Name":"#)
                JSONValue.writeString(metric.name, into: &bytes)
                bytes.append(#","Unit":"#)
                JSONValue.writeString(metric.unit, into: &bytes)
                bytes.append(UInt8(ascii: "}"))
            }
            bytes.append("]}]}")
            directive = bytes
            dimensionKeys = dimensionNames.map(Self.memberKey)
            metricKeys = metrics.map { Self.memberKey($0.name) }
            propertyKeys = propertyNames.map(Self.memberKey)
        }

        private static func memberKey(_ name: String) -> [UInt8] {
            var bytes = [UInt8(ascii: ",")]
            JSONValue.writeString(name, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            return bytes
        }

        /// The line with these values, one per name given to `init`, in the same order (extra
        /// values on either side are left out).
        public func line(timestampMilliseconds: Int64, dimensionValues: [String], metricValues: [Double], propertyValues: [JSONValue]) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(directive.count + 512)
            bytes.append(#"{"_aws":{"Timestamp":"#)
            bytes.appendDecimal(timestampMilliseconds)
            bytes.append(contentsOf: directive)
            for (key, value) in zip(dimensionKeys, dimensionValues) {
                bytes.append(contentsOf: key)
                JSONValue.writeString(value, into: &bytes)
            }
            for (key, value) in zip(metricKeys, metricValues) {
                bytes.append(contentsOf: key)
                EMFMetricLine.writeLiteral(value, into: &bytes)
            }
            for (key, value) in zip(propertyKeys, propertyValues) {
                bytes.append(contentsOf: key)
                value.write(into: &bytes)
            }
            bytes.append("}\n")
            return bytes
        }
    }

    /// JSON has no NaN or infinity; a broken measurement is reported as 0 rather than breaking
    /// the whole line (CloudWatch drops a line it cannot parse, and every metric in it).
    private static func literal(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// `literal(value)`'s text, the usual whole counts written without a `String` in between.
    private static func writeLiteral(_ value: Double, into bytes: inout [UInt8]) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            bytes.appendDecimal(Int64(value))
        } else {
            bytes.append(contentsOf: literal(value).utf8)
        }
    }
}

extension [UInt8] {
    /// A constant's bytes, copied in one go (a `String`'s UTF-8 view takes the generic path).
    fileprivate mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// The decimal digits of `value`, as `String(value)` writes them, in place.
    fileprivate mutating func appendDecimal(_ value: Int64) {
        // Most of a line's counts are 0 or 1: one byte, without counting digits.
        if (0..<10).contains(value) {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digitCount = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            digitCount += 1
        }
        append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digitCount))
        var index = count - 1
        repeat {
            self[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            index -= 1
        } while magnitude > 0
    }
}
