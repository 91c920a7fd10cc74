import Foundation

/// A throw-away certificate authority and a server certificate it signed, made with `openssl` in
/// a temporary folder: enough for a TLS-only `redis-server` and a client that verifies it.
/// The folder (keys included) is deleted when the last reference goes away.
public final class TLSCertificates: Sendable {
    public let directory: String
    public let caCertificatePath: String
    public let serverCertificatePath: String
    public let serverKeyPath: String
    /// The DNS names and IP addresses in the server certificate's subjectAltName.
    public let names: [String]

    /// The server key's algorithm, which decides the TLS 1.2 cipher suites a server can offer.
    public enum ServerKey: Sendable {
        /// P-256: generated in milliseconds, unlike RSA; `ECDHE-ECDSA-*` suites.
        case ecdsa
        /// RSA 2048: `ECDHE-RSA-*` and the static-RSA suites (`AES128-SHA`) that need one.
        case rsa
    }

    public let serverKey: ServerKey

    /// Makes a CA and a server certificate valid for `names` (default: localhost and 127.0.0.1).
    /// The CA's key is always P-256. The certificate serves as a client certificate too: cluster
    /// nodes (`tls-cluster yes`) present it to each other on the cluster bus, which always
    /// verifies the peer.
    public static func make(names: [String] = ["localhost", "127.0.0.1"], serverKey: ServerKey = .ecdsa) throws -> TLSCertificates {
        let directory = try TemporaryDirectory.make(prefix: "redis-tls")
        let certificates = TLSCertificates(directory: directory, names: names, serverKey: serverKey)
        try certificates.generate()
        return certificates
    }

    private init(directory: String, names: [String], serverKey: ServerKey) {
        self.directory = directory
        self.caCertificatePath = directory + "/ca.crt"
        self.serverCertificatePath = directory + "/server.crt"
        self.serverKeyPath = directory + "/server.key"
        self.names = names
        self.serverKey = serverKey
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func generate() throws {
        let caKey = directory + "/ca.key"
        let request = directory + "/server.csr"
        let extensions = directory + "/server.ext"
        let alternativeNames = names.map { (isIPAddress($0) ? "IP:" : "DNS:") + $0 }.joined(separator: ",")
        try """
        subjectAltName=\(alternativeNames)
        basicConstraints=critical,CA:FALSE
        keyUsage=critical,digitalSignature,keyEncipherment
        extendedKeyUsage=serverAuth,clientAuth

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try CommandLineTool.run(
            "openssl",
            ["req", "-x509"] + ecKey + [
                "-keyout", caKey, "-out", caCertificatePath, "-days", "2", "-subj", "/CN=RedisPool Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        let serverKeyOptions = serverKey == .rsa ? ["-newkey", "rsa:2048", "-nodes"] : ecKey
        try CommandLineTool.run(
            "openssl",
            ["req", "-new"] + serverKeyOptions + [
                "-keyout", serverKeyPath, "-out", request, "-subj", "/CN=\(names.first ?? "localhost")",
            ])
        try CommandLineTool.run(
            "openssl",
            [
                "x509", "-req", "-in", request, "-CA", caCertificatePath, "-CAkey", caKey, "-CAcreateserial",
                "-out", serverCertificatePath, "-days", "2", "-extfile", extensions,
            ])
    }

    private func isIPAddress(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, text, &address) == 1 || inet_pton(AF_INET6, text, &address) == 1
    }
}

enum TemporaryDirectory {
    static func make(prefix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
