import HandlerCore
import LambdaEvents
import PriceCache
import RedisPool

/// Strategy signals (`signal:{symbol}:{strategy_id}`) and alert states (`alert:status:{alert_id}`):
/// both arrive on the same streams and are told apart by shape.
struct SignalFunction: CacheFunction {
    enum Route: Sendable {
        case signal, alert
    }

    let store: CacheStore

    let batchMember = "signals"
    let directShapes = #"a signal {"symbol":...,"strategy_id":...}, an alert status {"alert_id":...,"status":...} or {"signals":[...]}"#
    let routes = HTTPRouter<Route>([
        .init("GET", "/signals/{symbol}/{strategy_id}", .signal),
        .init("GET", "/alerts/{alert_id}", .alert),
    ])

    func isPayload(_ event: JSONValue) -> Bool {
        event["symbol"] != nil || AlertStatus.matches(event)
    }

    func write(for payload: JSONValue) throws(FieldError) -> CacheWrite {
        AlertStatus.matches(payload) ? try AlertStatus(json: payload).cacheWrite : try TradingSignal(json: payload).cacheWrite
    }

    func respond(to route: Route, _ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        switch route {
        case .signal: try signal(request, metrics: &metrics)
        case .alert: try alert(request, metrics: &metrics)
        }
    }

    /// `GET /signals/{symbol}/{strategy_id}`: the stored JSON as the body, or 404.
    private func signal(_ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        let (symbol, strategyID) = try clientInput { () throws(FieldError) in
            (try Symbol(request.parameter("symbol")), try Identifier(request.parameter("strategy_id"), field: "strategy_id"))
        }
        let stored = metrics.counting([
            try metrics.redis { () throws(RedisError) in
                try store.signal(symbol, strategyID: strategyID, deadline: request.deadline)
            }
        ])
        guard let text = stored.first ?? nil else {
            return .error(404, code: "not_found", message: "No cached signal for \(symbol) and strategy \(strategyID).")
        }
        guard let json = try? JSONParser.parse(Array(text.utf8)) else {
            // Only another writer could have put this there; say so rather than pass it on.
            return .error(502, code: "invalid_cached_value", message: "The cached signal for \(symbol) and strategy \(strategyID) is not JSON.")
        }
        return HTTPAPIResponse(statusCode: 200, body: json)
    }

    /// `GET /alerts/{alert_id}`: `{"alert_id","status"}`, or 404.
    private func alert(_ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        let alertID = try clientInput { () throws(FieldError) in try Identifier(request.parameter("alert_id"), field: "alert_id") }
        let stored = metrics.counting([try metrics.redis { () throws(RedisError) in try store.alertStatus(alertID, deadline: request.deadline) }])
        guard let status = stored.first ?? nil else {
            return .error(404, code: "not_found", message: "No status for alert \(alertID).")
        }
        return HTTPAPIResponse(statusCode: 200, body: .object(["alert_id": .string(alertID.text), "status": .string(status)]))
    }
}
