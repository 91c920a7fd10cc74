import HandlerCore
import LambdaEvents
import PriceCache
import RedisPool

/// The read routes over `price:{symbol}` and the session routes.
extension PriceFunction {
    /// More symbols than this in one request is a client bug; each costs a key read.
    static let maximumSymbolsPerRequest = 100

    /// `GET /prices/{symbol}`: the cached fields, or 404.
    func price(_ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        let symbol = try clientInput { () throws(FieldError) in try Symbol(request.parameter("symbol")) }
        let cached = metrics.counting(try metrics.redis { () throws(RedisError) in try store.prices([symbol], deadline: request.deadline) })
        guard let fields = cached.first ?? nil else {
            return .error(404, code: "not_found", message: "No cached price for \(symbol).")
        }
        return HTTPAPIResponse(statusCode: 200, body: Self.priceObject(symbol, fields))
    }

    /// `GET /prices?symbols=AAPL,MSFT`: every symbol in one round trip; absent ones are listed as missing.
    func prices(_ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        let symbols = try clientInput { () throws(FieldError) in try Self.symbolList(request.request.queryParameters["symbols"]) }
        let cached = metrics.counting(try metrics.redis { () throws(RedisError) in try store.prices(symbols, deadline: request.deadline) })
        return HTTPAPIResponse(statusCode: 200, body: .object(Self.pricesMembers(symbols, cached)))
    }

    /// `GET /sessions/{user_id}/prices`: the latest price of each of the session's `active_symbols`,
    /// for the session's own user only (403 otherwise, before Redis is asked).
    func sessionPrices(_ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        let userID = try clientInput { () throws(FieldError) in try Identifier(request.parameter("user_id"), field: "user_id") }
        if let refusal = SessionAuthorization.refusal(userID: userID, caller: request.request.caller) { return refusal }
        let activeSymbols = try metrics.redis { () throws(RedisError) in try store.activeSymbols(of: userID, deadline: request.deadline) }
        _ = metrics.counting([activeSymbols])
        guard let symbols = activeSymbols else {
            return .error(404, code: "not_found", message: "No session for user \(userID).")
        }
        let cached = metrics.counting(try metrics.redis { () throws(RedisError) in try store.prices(symbols, deadline: request.deadline) })
        return HTTPAPIResponse(statusCode: 200, body: .object([JSONMember("user_id", .string(userID.text))] + Self.pricesMembers(symbols, cached)))
    }

    /// `PUT /sessions/{user_id}`: upserts the fields given and starts the session's TTL again, for
    /// the session's own user only (403 otherwise, before the body is read).
    func putSession(_ request: RouteRequest, metrics: inout InvocationMetrics) throws(RouteFailure) -> HTTPAPIResponse {
        let userID = try clientInput { () throws(FieldError) in try Identifier(request.parameter("user_id"), field: "user_id") }
        if let refusal = SessionAuthorization.refusal(userID: userID, caller: request.request.caller) { return refusal }
        let update = try clientInput { () throws(FieldError) in
            try SessionUpdate(userID: userID, json: try Self.jsonBody(request.request.body), now: now())
        }
        let outcome = try metrics.redis { () throws(RedisError) in try store.write([update.cacheWrite], deadline: request.deadline).first?.get() }
        if outcome == .written { metrics.recordsWritten += 1 }
        let session = JSONValue.object(update.hashFields.map { JSONMember($0.field, .string($0.value)) })
        return HTTPAPIResponse(
            statusCode: 200,
            body: .object([
                "user_id": .string(update.userID.text),
                "session": session,
                "ttl_seconds": .integer(KeyFamily.session.ttlSeconds),
            ]))
    }

    static func priceObject(_ symbol: Symbol, _ fields: CacheStore.HashFields) -> JSONValue {
        .object([JSONMember("symbol", .string(symbol.text))] + fields.map { JSONMember($0.field, .string($0.value)) })
    }

    /// `"prices": {symbol: fields}` for the cached ones, `"missing": [symbol]` for the others.
    static func pricesMembers(_ symbols: [Symbol], _ cached: [CacheStore.HashFields?]) -> [JSONMember] {
        var found: [JSONMember] = []
        var missing: [JSONValue] = []
        for (symbol, fields) in zip(symbols, cached) {
            if let fields {
                found.append(JSONMember(symbol.text, priceObject(symbol, fields)))
            } else {
                missing.append(.string(symbol.text))
            }
        }
        return [JSONMember("prices", .object(found)), JSONMember("missing", .array(missing))]
    }

    /// `AAPL,MSFT` into symbols, duplicates dropped, order kept.
    static func symbolList(_ parameter: String?) throws(FieldError) -> [Symbol] {
        guard let parameter, !parameter.isEmpty else {
            throw FieldError(field: "symbols", problem: "is required, e.g. ?symbols=AAPL,MSFT")
        }
        let texts = parameter.split(separator: ",", omittingEmptySubsequences: false)
        guard texts.count <= maximumSymbolsPerRequest else {
            throw FieldError(field: "symbols", problem: "must list at most \(maximumSymbolsPerRequest) symbols, got \(texts.count)")
        }
        var seen = Set<Symbol>()
        var symbols: [Symbol] = []
        for (index, text) in texts.enumerated() {
            let symbol = try Symbol(String(text), field: "symbols[\(index)]")
            if seen.insert(symbol).inserted { symbols.append(symbol) }
        }
        return symbols
    }

    /// A request body as JSON; no body counts as `{}`.
    static func jsonBody(_ body: [UInt8]?) throws(FieldError) -> JSONValue {
        guard let body, !body.isEmpty else { return .object([]) }
        do {
            return try JSONParser.parse(body)
        } catch {
            throw FieldError(field: "body", problem: "is not valid JSON: \(error)")
        }
    }
}
