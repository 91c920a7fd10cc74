import HandlerCore
import LambdaEvents
import PriceCache

/// The speed layer's writes to `price:{symbol}` and the serving routes over prices and sessions.
struct PriceFunction: CacheFunction {
    enum Route: Sendable {
        case price, prices, sessionPrices, putSession
    }

    let store: CacheStore
    /// A session upsert without `last_active` is stamped with this.
    let now: @Sendable () -> EpochSeconds

    let batchMember = "prices"
    let directShapes = #"a price update {"symbol":...,"close":...} or {"prices":[...]}"#
    let routes = HTTPRouter<Route>([
        .init("GET", "/prices/{symbol}", .price),
        .init("GET", "/prices", .prices),
        .init("GET", "/sessions/{user_id}/prices", .sessionPrices),
        .init("PUT", "/sessions/{user_id}", .putSession),
    ])

    func isPayload(_ event: JSONValue) -> Bool {
        event["symbol"] != nil
    }

    func write(for payload: JSONValue) throws(FieldError) -> CacheWrite {
        try PriceUpdate(json: payload).cacheWrite
    }

    func respond(to route: Route, _ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        switch route {
        case .price: try price(request, metrics: &metrics)
        case .prices: try prices(request, metrics: &metrics)
        case .sessionPrices: try sessionPrices(request, metrics: &metrics)
        case .putSession: try putSession(request, metrics: &metrics)
        }
    }
}
