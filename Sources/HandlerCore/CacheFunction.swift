import LambdaEvents
import PriceCache
import RedisPool

/// What makes PriceCacheHandler and SignalHandler different; everything else about an
/// invocation (event shapes, batches, partial failures, HTTP status codes, metrics) is shared in
/// `CacheEventHandler`.
public protocol CacheFunction: Sendable {
    associatedtype Route: Sendable

    /// The member of a direct-invoke batch event, `prices` in `{"prices":[...]}`.
    var batchMember: String { get }
    /// The direct-invoke shapes, for the message that refuses an unknown event.
    var directShapes: String { get }
    var routes: HTTPRouter<Route> { get }

    /// Whether a directly invoked event is one payload (an update, a signal) rather than some other shape.
    func isPayload(_ event: JSONValue) -> Bool
    /// The write a payload asks for (from a direct invoke, a Kinesis record or an SQS body).
    func write(for payload: JSONValue) throws(FieldError) -> CacheWrite
    /// Answers a matched API Gateway route.
    func respond(to route: Route, _ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse
}

/// A matched API Gateway request and the Redis budget it has.
public struct RouteRequest: Sendable {
    public let request: HTTPAPIRequest
    public let parameters: [String: String]
    public let deadline: ContinuousClock.Instant

    /// A path parameter; the router only matches when every parameter of the route is present.
    public func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }
}

/// Why a route could not answer: the client's fault (400) or the cache's (503).
public enum RouteFailure: Error, Sendable {
    case badRequest(FieldError)
    case redis(RedisError)
}

/// Runs `body`, turning its field error into a 400.
public func clientInput<T>(_ body: () throws(FieldError) -> T) throws(RouteFailure) -> T {
    do {
        return try body()
    } catch {
        throw .badRequest(error)
    }
}

extension InvocationMetrics {
    /// `timingRedis` for a route: a Redis failure becomes a 503.
    public mutating func redis<T>(_ body: () throws(RedisError) -> T) throws(RouteFailure) -> T {
        do {
            return try timingRedis(body)
        } catch {
            throw .redis(error)
        }
    }

    /// Counts a read's hits and misses (nil is a miss) and passes the values through.
    public mutating func counting<Value>(_ values: [Value?]) -> [Value?] {
        let hits = values.count { $0 != nil }
        cacheHits += hits
        cacheMisses += values.count - hits
        return values
    }
}
