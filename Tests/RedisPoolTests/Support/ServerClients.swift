import RedisPool
import TestSupport

extension RedisServer {
    /// A configuration that reaches this server: TLS with its CA when it is TLS-only.
    func configuration(
        timeout: Duration = .seconds(2),
        poolMaximum: Int = 10,
        username: String = "default",
        authToken: String? = nil
    ) -> RedisConfiguration {
        RedisConfiguration(
            endpoint: host,
            port: port,
            useTLS: options.tls != nil,
            tlsCAFile: options.tls?.caCertificatePath,
            username: username,
            authToken: authToken ?? options.password,
            timeout: timeout,
            poolMaximum: poolMaximum
        )
    }

    func client(timeout: Duration = .seconds(2), poolMaximum: Int = 10) throws -> RedisClient {
        try RedisClient(configuration: configuration(timeout: timeout, poolMaximum: poolMaximum))
    }
}

extension RESPValue {
    static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
}

/// The error a throwing call threw, for `#expect` on its kind and message.
/// Anything else thrown (or nothing) gives nil.
func caught<T>(_ body: () throws -> T) -> RedisError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? RedisError
    }
}

func caughtResult(_ result: Result<RESPValue, RedisError>) -> RedisError? {
    if case .failure(let error) = result { return error }
    return nil
}
