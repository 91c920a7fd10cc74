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
    /// Names the Secrets Manager secret holding the Redis credentials (deployed functions): an
    /// ElastiCache user's JSON secret or a plain AUTH token (see `RedisSecret`). A plain
    /// `REDIS_AUTH_TOKEN` stays possible for local runs; it is never read again.
    static var authSecretVariable: String { "REDIS_AUTH_SECRET_ARN" }
    static var authTokenVariable: String { "REDIS_AUTH_TOKEN" }

    /// The whole of a cache function's `main.swift`: at cold start (the runtime's init hook) the
    /// credentials are read from Secrets Manager when `REDIS_AUTH_SECRET_ARN` is set (through the
    /// Parameters and Secrets Lambda Extension) and the Redis client is configured from the
    /// environment, once; every invocation then reuses it and its pooled connection, and the
    /// client reads the secret again if the server refuses the credentials (a rotation). A bad
    /// configuration or an unreadable secret fails the init with its reason, before any event.
    public static func run(name: String, _ makeFunction: @escaping (CacheStore) -> Function) -> Never {
        Lambda.run(name: name) { () throws(FunctionError) in
            let recoveryLog = RedisRecoveryLog()
            // One primary or a cluster, as REDIS_CLUSTER_MODE says (or the server, in auto mode).
            let client = try makeClient(environment: ProcessInfo.processInfo.environment, observer: recoveryLog)
            let store = CacheStore(client: client)
            return CacheEventHandler(localName: name, function: makeFunction(store), store: store, recoveryLog: recoveryLog)
        }
    }

    static func makeClient(environment: [String: String], observer: RedisRecoveryLog) throws(FunctionError) -> RedisDeploymentClient {
        guard let secretID = environment[authSecretVariable], !secretID.isEmpty else {
            do throws(RedisError) {
                return try RedisDeploymentClient.shared(environment: environment, observer: observer)
            } catch {
                throw FunctionError(error)
            }
        }
        if let token = environment[authTokenVariable], !token.isEmpty {
            throw FunctionError(SecretsExtensionError.configuration("both \(authSecretVariable) and \(authTokenVariable) are set; set only one"))
        }
        let extensionClient: SecretsExtensionClient
        let secretString: String
        do throws(SecretsExtensionError) {
            extensionClient = try SecretsExtensionClient.fromEnvironment(environment)
            secretString = try extensionClient.secretString(id: secretID)
        } catch {
            throw FunctionError(error)
        }
        do throws(RedisError) {
            let credentials = try RedisSecret.parse(secretString, secretID: secretID)
            let configuration = try RedisConfiguration.fromEnvironment(environment, credentials: credentials)
            let secret = RedisSecret(
                extensionClient: extensionClient, secretID: secretID,
                defaultUsername: environment["REDIS_USERNAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "default",
                useTLS: configuration.useTLS
            )
            return try RedisDeploymentClient.shared(configuration: configuration, credentialsProvider: secret, observer: observer)
        } catch {
            throw FunctionError(error)
        }
    }
}

extension EpochSeconds {
    /// The wall clock, for values that default to "now" (a session's `last_active`).
    public static var now: EpochSeconds { EpochSeconds(seconds: WallClock.millisecondsSinceEpoch() / 1000) }
}
