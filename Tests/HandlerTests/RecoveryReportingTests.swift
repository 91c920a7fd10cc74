@testable import HandlerCore
import RedisPool
import Testing

@Suite struct RecoveryReportingTests {
    @Test func anElastiCacheUserSecretGivesUserAndPassword() throws {
        let secret = #"{"username":"price-writer","password":"Pass-0123456789-abc","user_arn":"arn:aws:elasticache:eu-west-1:123456789012:user:price-writer"}"#
        #expect(try RedisSecret.parse(secret, secretID: "s") == .user(name: "price-writer", password: "Pass-0123456789-abc"))
        #expect(try RedisSecret.parse("Plain-Token-0123456789", secretID: "s") == .authToken("Plain-Token-0123456789"))
    }

    @Test func aJSONSecretWithoutUserFieldsIsRefusedWithoutQuotingIt() {
        let secret = #"{"password":"Pass-0123456789-abc"}"#
        #expect(throws: RedisError.self) { try RedisSecret.parse(secret, secretID: "my-secret") }
        do {
            _ = try RedisSecret.parse(secret, secretID: "my-secret")
        } catch {
            #expect(error.message.contains("my-secret"))
            #expect(!error.message.contains("Pass-0123456789-abc"))
        }
    }

    @Test func userPasswordsFollowTheUserRulesAndNeedTLS() throws {
        let credentials = SecretCredentials.user(name: "u", password: "p%(*)0123456789abc")
        #expect(try RedisConfiguration.validatedCredentials(credentials, useTLS: true) == RedisCredentials(username: "u", password: "p%(*)0123456789abc"))
        #expect(throws: RedisError.self) { try RedisConfiguration.validatedCredentials(credentials, useTLS: false) }
        #expect(throws: RedisError.self) { try RedisConfiguration.validatedCredentials(.user(name: "u", password: "short"), useTLS: true) }
        #expect(throws: RedisError.self) { try RedisConfiguration.validatedCredentials(.authToken("has%percent-0123456789"), useTLS: true) }
    }

    @Test func eachRecoveryIsOneLinePerInvocationAndCountsReachTheMetricLine() {
        let log = RedisRecoveryLog()
        let refused = RedisError(.connectFailed, "cannot connect to cache:6379: Connection refused")
        log.retrying(reason: .connectFailed, attempt: 2, after: refused)
        log.retrying(reason: .connectFailed, attempt: 3, after: refused)
        log.reconnected(endpoint: "cache:6379")
        log.readOnlyRecovery(endpoint: "cache:6379", error: RedisError.fromReply("READONLY You can't write against a read only replica."))
        log.retrying(reason: .readOnly, attempt: 2, after: RedisError.fromReply("READONLY x"))
        log.credentialsRefreshed(username: "writer", changed: true)
        let drained = log.drain()
        #expect(drained.retries == 3)
        #expect(drained.reconnects == 1)
        #expect(drained.authRefreshes == 1)
        #expect(drained.lines.count == 5)
        #expect(drained.lines[0].hasPrefix("Redis retry, reason connect_failed (2 times): "))
        #expect(log.drain() == RedisRecoveryLog.Drained())

        var metrics = InvocationMetrics()
        metrics.redisRetries = drained.retries
        metrics.redisReconnects = drained.reconnects
        metrics.authRefreshes = drained.authRefreshes
        let line = metrics.line(MetricLabels(functionName: "f", requestID: "r", timestampMilliseconds: 0))
        let values = Dictionary(uniqueKeysWithValues: line.metrics.map { ($0.name, $0.value) })
        #expect(values["RedisRetries"] == 3)
        #expect(values["RedisReconnects"] == 1)
        #expect(values["AuthRefreshes"] == 1)
    }
}
