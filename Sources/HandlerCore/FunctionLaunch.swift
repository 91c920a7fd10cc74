import LambdaEvents
import LambdaRuntime
import PriceCache
import RedisPool

extension CacheEventHandler {
    /// The whole of a cache function's `main.swift`: at cold start (the runtime's init hook) the
    /// Redis client is configured from the environment, once; every invocation then reuses it and
    /// its pooled connection. A bad configuration fails the init with its reason, before any event.
    public static func run(name: String, _ makeFunction: @escaping (CacheStore) -> Function) -> Never {
        Lambda.run(name: name) { () throws(FunctionError) in
            let client: RedisClient
            do throws(RedisError) {
                client = try RedisClient.shared()
            } catch {
                throw FunctionError(type: "Function.InvalidConfiguration", message: error.description)
            }
            let store = CacheStore(client: client)
            return CacheEventHandler(localName: name, function: makeFunction(store), store: store)
        }
    }
}

extension EpochSeconds {
    /// The wall clock, for values that default to "now" (a session's `last_active`).
    public static var now: EpochSeconds { EpochSeconds(seconds: WallClock.millisecondsSinceEpoch / 1000) }
}
