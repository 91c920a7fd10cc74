import LambdaEvents

/// One bar from the speed layer, validated, ready for `price:{symbol}`.
public struct PriceUpdate: Sendable, Hashable {
    public static let defaultSource = "speed_layer"

    public let symbol: Symbol
    public let close: DecimalText
    public let open: DecimalText
    public let high: DecimalText
    public let low: DecimalText
    public let volume: DecimalText
    public let timestamp: EpochSeconds
    /// Who produced the bar; the serving layer shows it, so it is an id-like name.
    public let source: Identifier

    /// Reads `{"symbol","close","open","high","low","volume","timestamp","source"?}`; numbers may
    /// come as strings or JSON numbers. Unknown members are ignored so producers can add fields.
    public init(json: JSONValue) throws(FieldError) {
        let fields = try JSONFields(json)
        symbol = try Symbol(try fields.string("symbol"))
        close = try DecimalText(try fields.required("close"), field: "close")
        open = try DecimalText(try fields.required("open"), field: "open")
        high = try DecimalText(try fields.required("high"), field: "high")
        low = try DecimalText(try fields.required("low"), field: "low")
        volume = try DecimalText(try fields.required("volume"), field: "volume")
        timestamp = try EpochSeconds(try fields.required("timestamp"), field: "timestamp")
        source = try Identifier(try fields.optionalString("source") ?? Self.defaultSource, field: "source")
    }

    /// The hash's fields in the order the serving layer documents them.
    public var hashFields: [(field: String, value: String)] {
        [
            ("close", close.text), ("open", open.text), ("high", high.text), ("low", low.text),
            ("volume", volume.text), ("timestamp", timestamp.description), ("source", source.text),
        ]
    }

    public var cacheWrite: CacheWrite {
        .hash(key: KeyFamily.priceKey(symbol), fields: hashFields, family: .price, latestWins: timestamp)
    }
}
