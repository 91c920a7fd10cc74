#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LambdaEvents
import LambdaRuntime
import PriceCache
import RedisPool

extension CacheEventHandler {
    /// Names the Secrets Manager secret holding the AUTH token (deployed functions); a plain
    /// `REDIS_AUTH_TOKEN` stays possible for local runs.
    static var authSecretVariable: String { "REDIS_AUTH_SECRET_ARN" }
    static var authTokenVariable: String { "REDIS_AUTH_TOKEN" }

    /// The whole of a cache function's `main.swift`: at cold start (the runtime's init hook) the
    /// AUTH token is read from Secrets Manager when `REDIS_AUTH_SECRET_ARN` is set (through the
    /// Parameters and Secrets Lambda Extension) and the Redis client is configured from the
    /// environment, once; every invocation then reuses it and its pooled connection. A bad
    /// configuration or an unreadable secret fails the init with its reason, before any event.
    public static func run(name: String, _ makeFunction: @escaping (CacheStore) -> Function) -> Never {
        Lambda.run(name: name) { () throws(FunctionError) in
            let environment: [String: String]
            do throws(SecretsExtensionError) {
                environment = try SecretsExtensionClient.environment(
                    ProcessInfo.processInfo.environment, resolvingSecretIn: authSecretVariable, into: authTokenVariable
                )
            } catch {
                throw error.functionError
            }
            let client: RedisDeploymentClient
            do throws(RedisError) {
                // One primary or a cluster, as REDIS_CLUSTER_MODE says (or the server, in auto mode).
                client = try RedisDeploymentClient.shared(environment: environment)
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
    public static var now: EpochSeconds { EpochSeconds(seconds: WallClock.millisecondsSinceEpoch() / 1000) }
}
