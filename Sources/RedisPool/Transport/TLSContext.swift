import COpenSSL
import Glibc

/// The OpenSSL client context, built once per client: TLS 1.2 or later, the peer verified against
/// an explicit CA bundle. Creating it reads the CA file, so a missing or unusable bundle is a
/// configuration error at start-up rather than a failure on the first command.
///
/// `@unchecked Sendable`: OpenSSL documents an `SSL_CTX` as safe to share between threads once it
/// is configured, and nothing mutates it after `init`.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    /// Amazon Linux (Lambda) first, then Debian/Ubuntu, Alpine, and Fedora's extracted bundle.
    /// A statically linked OpenSSL would look in the folder of the machine it was built on, which
    /// does not exist on Lambda, so the bundle is always named explicitly.
    static let systemBundles = [
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/cert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    ]

    init(caFile: String?) throws(RedisError) {
        let bundle = try Self.caBundle(explicit: caFile)
        _ = Self.sigpipeIgnored
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw RedisError(.tls, "cannot create a TLS context: \(TLSContext.lastErrorText())")
        }
        self.context = context
        guard copenssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw RedisError(.tls, "cannot require TLS 1.2: \(TLSContext.lastErrorText())")
        }
        // TLS 1.2 suites only (TLS 1.3's are set apart, by SSL_CTX_set_ciphersuites, and keep
        // OpenSSL's defaults: all AEAD with forward secrecy).
        guard SSL_CTX_set_cipher_list(context, Self.tls12CipherSuites) == 1 else {
            throw RedisError(.tls, "cannot restrict the TLS 1.2 cipher suites: \(TLSContext.lastErrorText())")
        }
        // Partial writes and a moving buffer: a non-blocking SSL_write is retried with whatever
        // remains, not with the exact same pointer and length.
        _ = copenssl_ctx_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard SSL_CTX_load_verify_locations(context, bundle, nil) == 1 else {
            let variable = caFile == nil ? "the system CA bundle \(bundle)" : "REDIS_TLS_CA_FILE (\(bundle))"
            throw RedisError(.configuration, "\(variable) holds no usable certificate: \(TLSContext.lastErrorText())")
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// OpenSSL's socket BIO writes with `write(2)`, not `send(..., MSG_NOSIGNAL)`, so a server
    /// that closed the connection would kill the whole process with SIGPIPE. Ignored once, and
    /// only when no handler was installed (a program's own choice is left alone).
    /// TLS 1.2 only with forward secrecy (ECDHE) and an AEAD cipher (AES-GCM, ChaCha20-Poly1305):
    /// no CBC (`AES128-SHA` and its padding-oracle history), no static RSA key exchange, no
    /// finite-field DHE. This loses nothing against ElastiCache, whose TLS 1.2 suites are ECDHE
    /// with AES-GCM (with an RSA certificate: ECDHE-RSA-AES128-GCM-SHA256, -AES256-GCM-SHA384).
    /// Listed by name rather than as an OpenSSL expression (`ECDHE+AESGCM`) so the set cannot
    /// grow with an OpenSSL update.
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// For error messages: what a server must accept to be reached.
    static let offeredProtocols = "TLS 1.3, or TLS 1.2 only with ECDHE with AES-GCM or ChaCha20-Poly1305"

    private static let sigpipeIgnored: Void = {
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            _ = signal(SIGPIPE, SIG_IGN)
        }
    }()

    private static func caBundle(explicit: String?) throws(RedisError) -> String {
        if let explicit { return explicit }
        guard let found = systemBundles.first(where: { access($0, R_OK) == 0 }) else {
            throw RedisError(
                .configuration,
                "no system CA bundle found (looked for \(systemBundles.joined(separator: ", "))); set REDIS_TLS_CA_FILE"
            )
        }
        return found
    }

    /// The reason of the most recent OpenSSL failure on this thread, then the queue is cleared.
    static func lastErrorText() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
