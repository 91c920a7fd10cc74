import LambdaEvents
import LambdaRuntime

/// Answers an API Gateway HTTP API request. Every outcome is an HTTP answer with a JSON body,
/// never a function error: API Gateway would turn that into a bare 500 and the client would not
/// learn whether to fix its request (400, 404, 405) or retry later (503).
struct HTTPDispatcher<Function: CacheFunction> {
    let function: Function
    let deadline: ContinuousClock.Instant
    let logger: LambdaLogger

    func answer(_ event: JSONValue, metrics: inout InvocationMetrics) -> HTTPAPIResponse {
        let request: HTTPAPIRequest
        do {
            request = try HTTPAPIRequest(event: event)
        } catch {
            metrics.invalid += 1
            return .error(400, code: "invalid_request", message: error.description)
        }
        let path = FieldError.quote("/" + request.pathSegments.joined(separator: "/"), limit: 100)
        switch function.routes.match(method: request.method, pathSegments: request.pathSegments) {
        case .notFound:
            return .error(404, code: "not_found", message: "No route for \(FieldError.quote(request.method, limit: 10)) \(path).")
        case .methodNotAllowed(let allowed):
            let list = allowed.joined(separator: ", ")
            return .error(405, code: "method_not_allowed", message: "\(path) allows \(list).", extraHeaders: [JSONMember("allow", .string(list))])
        case .found(let route, let parameters):
            let routeRequest = RouteRequest(request: request, parameters: parameters, deadline: deadline)
            do throws(RouteFailure) {
                return try function.respond(to: route, routeRequest, metrics: &metrics)
            } catch {
                switch error {
                case .badRequest(let error):
                    metrics.invalid += 1
                    return .error(400, code: "invalid_request", message: error.description)
                case .redis(let error):
                    // The details name the endpoint: they go to the log, not to API clients.
                    logger.error("\(request.method) \(path) failed: \(error)")
                    return .error(
                        503, code: "cache_unavailable", message: "The cache is unavailable; retry later.",
                        extraHeaders: [JSONMember("retry-after", .string("1"))])
                }
            }
        }
    }
}
