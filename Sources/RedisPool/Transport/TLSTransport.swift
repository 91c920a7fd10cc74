import COpenSSL
import Glibc

/// TLS over a non-blocking socket. OpenSSL reports when it needs the socket readable or writable
/// (`SSL_ERROR_WANT_READ/WRITE`, in any operation: a TLS 1.3 read may need to write), and this
/// class polls for exactly that, always bounded by the deadline.
final class TLSTransport: Transport {
    private let socket: Socket
    private let connection: OpaquePointer

    /// Handshakes and verifies the certificate chain and the name.
    ///
    /// SNI alone proves nothing: the name must also be checked against the certificate, which
    /// OpenSSL does only when told the expected host (or IP) explicitly. An IP literal goes to
    /// the IP check and is never sent as SNI (RFC 6066 allows host names only).
    init(socket: Socket, context: TLSContext, serverName: String, deadline: Deadline) throws(RedisError) {
        guard let connection = SSL_new(context.context) else {
            throw RedisError(.tls, "cannot create a TLS session: \(TLSContext.lastErrorText())")
        }
        self.socket = socket
        self.connection = connection
        guard SSL_set_fd(connection, socket.descriptor) == 1 else {
            throw RedisError(.tls, "cannot attach TLS to the socket: \(TLSContext.lastErrorText())")
        }
        let parameters = SSL_get0_param(connection)
        X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        if Self.isIPAddress(serverName) {
            guard X509_VERIFY_PARAM_set1_ip_asc(parameters, serverName) == 1 else {
                throw RedisError(.tls, "cannot verify against the address \(serverName)")
            }
        } else {
            guard copenssl_set_tlsext_host_name(connection, serverName) == 1,
                X509_VERIFY_PARAM_set1_host(parameters, serverName, 0) == 1
            else {
                throw RedisError(.tls, "cannot verify against the name \(serverName)")
            }
        }
        try perform("during the TLS handshake with \(serverName)", deadline: deadline) { SSL_connect(connection) }
    }

    deinit {
        SSL_free(connection)
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws(RedisError) {
        var offset = 0
        while offset < bytes.count {
            var written = 0
            try perform("sending a command", deadline: deadline) {
                bytes.withUnsafeBytes { raw in
                    SSL_write_ex(connection, raw.baseAddress.map { $0 + offset }, raw.count - offset, &written)
                }
            }
            offset += written
        }
    }

    /// SSL_read_ex runs before any poll: bytes OpenSSL has already decrypted (`SSL_pending`)
    /// come back at once instead of waiting on a socket that may have nothing more to say.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(RedisError) -> Int {
        var received = 0
        try perform("waiting for a reply", deadline: deadline) {
            SSL_read_ex(connection, buffer.baseAddress, buffer.count, &received)
        }
        return received
    }

    /// Decrypted bytes already buffered, or a record on the socket that turns out to carry data
    /// or an EOF. Records that carry no data (a TLS 1.3 session ticket) are consumed by the peek
    /// and leave the connection usable.
    func hasUnexpectedInput() -> Bool {
        if SSL_pending(connection) > 0 { return true }
        guard socket.isReadableNow() else { return false }
        var byte: UInt8 = 0
        var peeked = 0
        ERR_clear_error()
        let result = SSL_peek_ex(connection, &byte, 1, &peeked)
        return result == 1 || SSL_get_error(connection, result) != SSL_ERROR_WANT_READ
    }

    /// A close_notify is a courtesy; the socket is closed whether or not it could be sent.
    func close() {
        guard socket.descriptor >= 0 else { return }
        ERR_clear_error()
        _ = SSL_shutdown(connection)
        ERR_clear_error()
        socket.close()
    }

    /// Runs an OpenSSL operation until it succeeds, polling for what it wants in between.
    private func perform(_ what: String, deadline: Deadline, _ operation: () -> Int32) throws(RedisError) {
        while true {
            ERR_clear_error()
            let result = operation()
            if result == 1 { return }
            let error = SSL_get_error(connection, result)
            switch error {
            case SSL_ERROR_WANT_READ:
                guard socket.waitFor(Int16(POLLIN), deadline: deadline) else { throw deadline.expired(what) }
            case SSL_ERROR_WANT_WRITE:
                guard socket.waitFor(Int16(POLLOUT), deadline: deadline) else { throw deadline.expired(what) }
            case SSL_ERROR_ZERO_RETURN:
                throw RedisError(.connectionClosed, "the server closed the TLS connection \(what)")
            case SSL_ERROR_SYSCALL:
                let reason = errno == 0 ? "unexpected EOF" : Socket.lastErrorText()
                ERR_clear_error()
                throw RedisError(.connectionClosed, "the connection failed \(what): \(reason)")
            default:
                throw failure(what)
            }
        }
    }

    /// Certificate problems get the verifier's own words ("Hostname mismatch", "unable to get
    /// local issuer certificate"), everything else the error queue's.
    private func failure(_ what: String) -> RedisError {
        let verification = SSL_get_verify_result(connection)
        if verification != X509_V_OK {
            ERR_clear_error()
            let reason = String(cString: X509_verify_cert_error_string(verification))
            return RedisError(.tls, "certificate verification failed \(what): \(reason)")
        }
        // The server's "handshake failure" or "protocol version" alert: almost always nothing in
        // common with what this client offers, which the error queue's words do not say.
        let reason = ERR_GET_REASON(ERR_peek_error())
        let refusedOffer = [SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_UNSUPPORTED_PROTOCOL].contains(reason)
        let openSSLText = TLSContext.lastErrorText()
        guard refusedOffer else { return RedisError(.tls, "TLS failed \(what): \(openSSLText)") }
        return RedisError(
            .tls,
            "TLS failed \(what): the server shares no TLS version and cipher suite in common with this client, which offers \(TLSContext.offeredProtocols) (\(openSSLText))"
        )
    }

    static func isIPAddress(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }
}
