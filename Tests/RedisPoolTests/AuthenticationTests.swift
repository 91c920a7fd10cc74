import RedisPool
import TestSupport
import Testing

@Suite struct AuthenticationTests {
    static let password = "Default-Pass-0123456789"
    static let pricer = RedisServer.User(name: "pricer", password: "Pricer-Pass-0123456789", rules: ["~price:*", "+@all"])

    let server: RedisServer

    init() throws {
        server = try RedisServer.start(RedisServer.Options(password: Self.password, users: [Self.pricer]))
    }

    @Test func tokenForTheDefaultUser() throws {
        let client = try RedisClient(configuration: server.configuration(authToken: Self.password))
        #expect(try client.command(RedisCommand("SET", "any", "1")) == .simpleString("OK"))
        #expect(try client.command(RedisCommand("CLIENT", "GETNAME")) == .bulk("redis-pool"))
    }

    @Test func tokenForAnACLUserAppliesItsPermissions() throws {
        let client = try RedisClient(configuration: server.configuration(username: Self.pricer.name, authToken: Self.pricer.password))
        #expect(try client.command(RedisCommand("ACL", "WHOAMI")) == .bulk("pricer"))
        #expect(try client.command(RedisCommand("HSET", "price:AAPL", "close", "1")) == .integer(1))
        let error = caught { try client.command(RedisCommand("SET", "other", "1")) }
        #expect(error?.kind == .server(code: "NOPERM"))
    }

    @Test func wrongTokenIsAnAuthenticationErrorWithoutTheToken() throws {
        let wrong = "Wrong-Token-ABCDEFGHIJ"
        let client = try RedisClient(configuration: server.configuration(authToken: wrong))
        let error = caught { try client.command(RedisCommand("PING")) }
        #expect(error?.kind == .authentication)
        #expect(error?.message.contains("WRONGPASS") == true)
        #expect(error?.description.contains(wrong) == false)
        #expect(error?.description.contains(Self.password) == false)
    }

    @Test func wrongUserIsAnAuthenticationError() throws {
        let client = try RedisClient(configuration: server.configuration(username: "nobody", authToken: Self.pricer.password))
        #expect(caught { try client.command(RedisCommand("PING")) }?.kind == .authentication)
    }

    @Test func missingTokenSaysSo() throws {
        var configuration = server.configuration()
        configuration.authToken = nil
        let error = caught { try RedisClient(configuration: configuration).command(RedisCommand("PING")) }
        #expect(error?.kind == .authentication)
        #expect(error?.message.contains("no password is configured") == true)
    }

    @Test func authenticationFailuresAreNotRetried() throws {
        let before = try server.connectionsReceived()
        let client = try RedisClient(configuration: server.configuration(authToken: "Wrong-Token-ABCDEFGHIJ"))
        _ = caught { try client.command(RedisCommand("GET", "k")) }
        #expect(try server.connectionsReceived() - before == 2)  // the client's one + this redis-cli
    }
}

@Suite struct TLSTests {
    let certificates: TLSCertificates
    let server: RedisServer

    init() throws {
        certificates = try TLSCertificates.make()
        server = try RedisServer.start(RedisServer.Options(password: "Tls-Password-0123456789", tls: certificates))
    }

    @Test func verifiedConnectionByIPAddress() throws {
        let client = try RedisClient(configuration: server.configuration())
        #expect(try client.command(RedisCommand("SET", "k", "v")) == .simpleString("OK"))
        #expect(try client.pipeline([RedisCommand("GET", "k"), RedisCommand("PING")]).map { try $0.get() } == [.bulk("v"), .simpleString("PONG")])
    }

    @Test func pooledTLSConnectionIsReusedNotReopened() throws {
        let client = try RedisClient(configuration: server.configuration())
        let before = try server.connectionsReceived()
        for round in 0..<20 {
            try client.command(RedisCommand("SET", "k", String(round)))
        }
        #expect(try server.connectionsReceived() - before == 2)  // one TLS connection + this redis-cli
    }

    @Test func verifiedConnectionByHostName() throws {
        var configuration = server.configuration()
        configuration.endpoint = "localhost"
        let client = try RedisClient(configuration: configuration)
        let value = [UInt8]((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        try client.command(RedisCommand(arguments: [Array("SET".utf8), Array("big".utf8), value]))
        #expect(try client.command(RedisCommand("GET", "big")) == .bulkString(value))
    }

    @Test func serverNameOverrideWhenConnectingByIP() throws {
        var configuration = server.configuration()
        configuration.tlsServerName = "localhost"
        #expect(try RedisClient(configuration: configuration).command(RedisCommand("PING")) == .simpleString("PONG"))
    }

    @Test func wrongServerNameFailsVerification() throws {
        var configuration = server.configuration()
        configuration.tlsServerName = "cache.example.com"
        let error = caught { try RedisClient(configuration: configuration).command(RedisCommand("PING")) }
        #expect(error?.kind == .tls)
        #expect(error?.message.contains("mismatch") == true, "\(error?.message ?? "")")
    }

    @Test func unknownCAFailsVerification() throws {
        let other = try TLSCertificates.make()
        var configuration = server.configuration()
        configuration.tlsCAFile = other.caCertificatePath
        let error = caught { try RedisClient(configuration: configuration).command(RedisCommand("PING")) }
        #expect(error?.kind == .tls)
        #expect(error?.message.contains("certificate") == true, "\(error?.message ?? "")")
    }

    @Test func systemBundleDoesNotTrustATestCA() throws {
        var configuration = server.configuration()
        configuration.tlsCAFile = nil
        let error = caught { try RedisClient(configuration: configuration).command(RedisCommand("PING")) }
        #expect(error?.kind == .tls)
    }

    @Test func plainClientAgainstTLSServerFailsCleanly() throws {
        var configuration = server.configuration(timeout: .milliseconds(500))
        configuration.useTLS = false
        configuration.authToken = nil
        let error = caught { try RedisClient(configuration: configuration).command(RedisCommand("PING")) }
        #expect(error != nil)
    }

    @Test func caFileThatIsNotPEMIsAConfigurationError() throws {
        var configuration = server.configuration()
        configuration.tlsCAFile = certificates.directory + "/server.ext"
        #expect(caught { try RedisClient(configuration: configuration) }?.kind == .configuration)
    }
}

/// A server where `HELLO` is unknown (renamed away), as before Redis 6: the handshake falls back
/// to `AUTH` and `CLIENT SETNAME`.
@Suite struct LegacyHandshakeTests {
    let server: RedisServer

    init() throws {
        server = try RedisServer.start(
            RedisServer.Options(
                password: AuthenticationTests.password,
                users: [AuthenticationTests.pricer],
                extraArguments: ["--rename-command", "HELLO", ""]
            ))
    }

    @Test func tokenForTheDefaultUserFallsBackToAUTH() throws {
        let client = try RedisClient(configuration: server.configuration())
        #expect(try client.command(RedisCommand("CLIENT", "GETNAME")) == .bulk("redis-pool"))
        #expect(try client.command(RedisCommand("ACL", "WHOAMI")) == .bulk("default"))
    }

    @Test func aclUserFallsBackToAUTHWithTheUser() throws {
        let client = try RedisClient(
            configuration: server.configuration(
                username: AuthenticationTests.pricer.name, authToken: AuthenticationTests.pricer.password
            ))
        #expect(try client.command(RedisCommand("ACL", "WHOAMI")) == .bulk("pricer"))
    }

    @Test func wrongTokenIsStillAnAuthenticationError() throws {
        let client = try RedisClient(configuration: server.configuration(authToken: "Wrong-Token-ABCDEFGHIJ"))
        let error = caught { try client.command(RedisCommand("PING")) }
        #expect(error?.kind == .authentication)
        #expect(error?.description.contains("Wrong-Token-ABCDEFGHIJ") == false)
    }
}
