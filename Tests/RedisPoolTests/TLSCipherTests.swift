import Foundation
import RedisPool
import TestSupport
import Testing

/// TLS 1.2 only with forward secrecy and an AEAD (ECDHE with AES-GCM or ChaCha20-Poly1305):
/// real redis-servers limited to TLS 1.2 and one cipher suite each. (TLS 1.3, OpenSSL's default
/// suites, is what the other TLS tests negotiate.)
@Suite struct TLSCipherTests {
    private func server(offering cipher: String, key: TLSCertificates.ServerKey) throws -> (RedisServer, TLSCertificates) {
        let certificates = try TLSCertificates.make(serverKey: key)
        let server = try RedisServer.start(RedisServer.Options(tls: certificates, tlsProtocols: "TLSv1.2", tlsCiphers: cipher))
        return (server, certificates)
    }

    @Test(arguments: [
        ("ECDHE-RSA-AES128-GCM-SHA256", TLSCertificates.ServerKey.rsa),
        ("ECDHE-RSA-AES256-GCM-SHA384", .rsa),
        ("ECDHE-RSA-CHACHA20-POLY1305", .rsa),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", .ecdsa),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", .ecdsa),
    ])
    func ecdheWithAnAEADIsAccepted(_ cipher: String, _ key: TLSCertificates.ServerKey) throws {
        let (server, _) = try server(offering: cipher, key: key)
        defer { server.stop() }
        let client = try RedisClient(configuration: server.configuration())
        #expect(try client.command(RedisCommand("PING")) == .simpleString("PONG"))
    }

    /// CBC (`AES128-SHA`, `ECDHE-RSA-AES128-SHA`), static RSA key exchange without forward
    /// secrecy (`AES128-GCM-SHA256`) and finite-field DHE are refused with a clear error, although
    /// the server works (OpenSSL's own client, with its defaults, reaches it).
    @Test(arguments: ["AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"])
    func otherTLS12SuitesAreRefused(_ cipher: String) throws {
        let (server, _) = try server(offering: cipher, key: .rsa)
        defer { server.stop() }
        #expect(try server.cli("PING") == "PONG")
        let error = caught { try RedisClient(configuration: server.configuration()).command(RedisCommand("PING")) }
        #expect(error?.kind == .tls)
        #expect(error?.message.contains("no TLS version and cipher suite in common") == true, "\(error?.message ?? "no error")")
        #expect(error?.message.contains("ECDHE with AES-GCM or ChaCha20-Poly1305") == true, "\(error?.message ?? "no error")")
    }
}
