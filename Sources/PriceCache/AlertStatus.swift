import LambdaEvents

/// An alert's state, validated, ready for `alert:status:{alert_id}`.
public struct AlertStatus: Sendable, Hashable {
    public enum State: String, Sendable, CaseIterable {
        case triggered, pending, disabled
    }

    public let alertID: Identifier
    public let state: State

    /// Whether a payload is an alert status rather than a signal (both arrive on the same streams).
    public static func matches(_ json: JSONValue) -> Bool {
        json["alert_id"] != nil
    }

    public init(json: JSONValue) throws(FieldError) {
        let fields = try JSONFields(json)
        alertID = try Identifier(try fields.string("alert_id"), field: "alert_id")
        let status = try fields.string("status")
        guard let state = State(rawValue: status) else {
            throw FieldError(field: "status", problem: "must be triggered, pending or disabled, got \(FieldError.quote(status))")
        }
        self.state = state
    }

    public var cacheWrite: CacheWrite {
        .string(key: KeyFamily.alertStatusKey(alertID), value: state.rawValue, family: .alertStatus, latestWins: nil)
    }
}
