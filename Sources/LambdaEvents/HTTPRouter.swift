/// Matches a request's method and path against routes such as `GET /prices/{symbol}`, telling
/// "no such path" (404) apart from "path exists, wrong method" (405, with the methods allowed).
public struct HTTPRouter<Action: Sendable>: Sendable {
    public struct Route: Sendable {
        let method: String
        let pattern: [PatternSegment]
        let action: Action

        /// `path` segments in braces (`{symbol}`) capture the request's segment under that name.
        public init(_ method: String, _ path: String, _ action: Action) {
            self.method = method.uppercased()
            self.pattern = path.split(separator: "/").map { segment in
                segment.hasPrefix("{") && segment.hasSuffix("}")
                    ? .parameter(String(segment.dropFirst().dropLast()))
                    : .literal(String(segment))
            }
            self.action = action
        }

        func parameters(for segments: [String]) -> [String: String]? {
            guard segments.count == pattern.count else { return nil }
            var parameters: [String: String] = [:]
            for (expected, actual) in zip(pattern, segments) {
                switch expected {
                case .literal(let literal): guard literal == actual else { return nil }
                case .parameter(let name): parameters[name] = actual
                }
            }
            return parameters
        }
    }

    enum PatternSegment: Sendable {
        case literal(String)
        case parameter(String)
    }

    public enum Match {
        case found(Action, parameters: [String: String])
        case notFound
        case methodNotAllowed(allowed: [String])
    }

    private let routes: [Route]

    public init(_ routes: [Route]) {
        self.routes = routes
    }

    public func match(method: String, pathSegments: [String]) -> Match {
        var allowed: [String] = []
        for route in routes {
            guard let parameters = route.parameters(for: pathSegments) else { continue }
            if route.method == method { return .found(route.action, parameters: parameters) }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }
}
