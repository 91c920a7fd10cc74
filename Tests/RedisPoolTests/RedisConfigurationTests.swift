import Foundation
import RedisPool
import Testing

@Suite struct RedisConfigurationTests {
    static let token = "Secret-Token-1234567890"

    @Test func onlyTheEndpointIsRequired() throws {
        let configuration = try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "cache.abc.use1.cache.amazonaws.com"])
        #expect(configuration.endpoint == "cache.abc.use1.cache.amazonaws.com")
        #expect(configuration.port == 6379)
        #expect(configuration.useTLS)
        #expect(configuration.username == "default")
        #expect(configuration.authToken == nil)
        #expect(configuration.timeout == .milliseconds(5000))
        #expect(configuration.poolMaximum == 10)
        #expect(configuration.tlsCAFile == nil)
        #expect(configuration.tlsServerName == nil)
        #expect(configuration.maximumReplyBytes == 64 * 1024 * 1024)
        #expect(configuration.maximumReplyElements == 4 * 1024 * 1024)
    }

    @Test func everyVariableIsRead() throws {
        let configuration = try RedisConfiguration.fromEnvironment([
            "REDIS_ENDPOINT": "10.0.0.5",
            "REDIS_PORT": "6380",
            "REDIS_SSL": "TRUE",
            "REDIS_AUTH_TOKEN": Self.token,
            "REDIS_USERNAME": "pricer",
            "REDIS_TLS_CA_FILE": "/etc/hostname",
            "REDIS_TLS_SERVER_NAME": "master.cache.example.com",
            "REDIS_TIMEOUT_MS": "250",
            "REDIS_POOL_MAX": "3",
            "REDIS_MAX_REPLY_BYTES": "1048576",
            "REDIS_MAX_REPLY_ELEMENTS": "65536",
        ])
        #expect(
            configuration
                == RedisConfiguration(
                    endpoint: "10.0.0.5", port: 6380, useTLS: true, tlsCAFile: "/etc/hostname",
                    tlsServerName: "master.cache.example.com", username: "pricer", authToken: Self.token,
                    timeout: .milliseconds(250), poolMaximum: 3, maximumReplyBytes: 1_048_576, maximumReplyElements: 65536
                ))
    }

    @Test func endpointMayCarryItsPort() throws {
        #expect(try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "host.example:6390"]).port == 6390)
        let ipv6 = try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "[::1]:7000"])
        #expect(ipv6.endpoint == "::1" && ipv6.port == 7000)
        #expect(try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "::1"]).endpoint == "::1")
    }

    @Test(arguments: [
        (["REDIS_PORT": "63a9"], "REDIS_PORT"),
        (["REDIS_PORT": "70000"], "REDIS_PORT"),
        (["REDIS_SSL": "yes"], "REDIS_SSL"),
        (["REDIS_TIMEOUT_MS": "0"], "REDIS_TIMEOUT_MS"),
        (["REDIS_TIMEOUT_MS": "5s"], "REDIS_TIMEOUT_MS"),
        (["REDIS_POOL_MAX": "-1"], "REDIS_POOL_MAX"),
        (["REDIS_MAX_REPLY_BYTES": "100"], "REDIS_MAX_REPLY_BYTES"),
        (["REDIS_MAX_REPLY_BYTES": "64MiB"], "REDIS_MAX_REPLY_BYTES"),
        (["REDIS_MAX_REPLY_ELEMENTS": "0"], "REDIS_MAX_REPLY_ELEMENTS"),
        (["REDIS_TLS_CA_FILE": "/no/such/ca.pem"], "REDIS_TLS_CA_FILE"),
        (["REDIS_TLS_SERVER_NAME": "bad name"], "REDIS_TLS_SERVER_NAME"),
        (["REDIS_USERNAME": "two words"], "REDIS_USERNAME"),
        (["REDIS_ENDPOINT": "host:port"], "REDIS_ENDPOINT"),
        (["REDIS_ENDPOINT": "host:6380", "REDIS_PORT": "6379"], "REDIS_ENDPOINT"),
        (["REDIS_ENDPOINT": "  "], "REDIS_ENDPOINT"),
    ])
    func invalidValuesAreRefusedNamingTheVariable(_ overrides: [String: String], variable: String) {
        let environment = ["REDIS_ENDPOINT": "cache.example.com"].merging(overrides) { $1 }
        let error = caught { try RedisConfiguration.fromEnvironment(environment) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains(variable) == true, "\(error?.message ?? "no error")")
    }

    @Test func missingEndpointIsRefused() {
        let error = caught { try RedisConfiguration.fromEnvironment([:]) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("REDIS_ENDPOINT") == true)
    }

    @Test(arguments: [
        "short-token-1",  // under 16
        String(repeating: "a", count: 129),  // over 128
        "sixteen chars with space",  // space is not allowed
        "token-with-percent%-1234",  // % is not an allowed symbol
        "token-with-at@-123456789",
        "tokén-with-accent-123456",
    ])
    func tokensBreakingElastiCacheRulesAreRefusedWithoutEcho(_ token: String) {
        let error = caught { try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "h", "REDIS_AUTH_TOKEN": token]) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("REDIS_AUTH_TOKEN") == true)
        #expect(error?.message.contains(token) == false)
        #expect(error?.description.contains(token) == false)
    }

    @Test func everyAllowedSymbolIsAccepted() throws {
        let token = "Aa0!&#$^<>-Aa0!&#$^<>-"
        #expect(try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "h", "REDIS_AUTH_TOKEN": token]).authToken == token)
    }

    @Test func tokenWithoutTLSIsRefused() {
        let error = caught {
            try RedisConfiguration.fromEnvironment(["REDIS_ENDPOINT": "h", "REDIS_SSL": "false", "REDIS_AUTH_TOKEN": Self.token])
        }
        #expect(error?.message.contains("REDIS_SSL") == true)
        #expect(error?.message.contains(Self.token) == false)
    }

    @Test func clientRefusesAClientNameRedisWouldRefuse() {
        #expect(caught { try RedisClient(configuration: RedisConfiguration(endpoint: "h", useTLS: false, clientName: "two words")) }?.kind == .configuration)
        #expect(caught { try RedisClient(configuration: RedisConfiguration(endpoint: "h", useTLS: false, poolMaximum: 0)) }?.kind == .configuration)
    }

    @Test func printingAConfigurationNeverShowsTheToken() {
        let configuration = RedisConfiguration(endpoint: "h", authToken: Self.token)
        for text in [String(describing: configuration), String(reflecting: configuration), "\(configuration)"] {
            #expect(!text.contains(Self.token))
            #expect(text.contains("<redacted>"))
        }
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains(Self.token))
    }
}
