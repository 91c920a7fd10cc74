import Glibc

extension RedisConfiguration {
    /// Reads `REDIS_*` variables (see the README, "Configuring the Redis client"). Every invalid value is refused
    /// here, at start-up, with a message naming the variable; the token's value is never echoed.
    ///
    /// `credentials`, when given, come from a secret (the functions' `REDIS_AUTH_SECRET_ARN`) and
    /// replace `REDIS_USERNAME` and `REDIS_AUTH_TOKEN` (checked with `validatedCredentials`).
    public static func fromEnvironment(
        _ environment: [String: String], credentials: SecretCredentials? = nil
    ) throws(RedisError) -> RedisConfiguration {
        let reader = EnvironmentReader(environment: environment)
        let (endpoint, portInEndpoint) = try reader.endpoint()
        var configuration = RedisConfiguration(endpoint: endpoint)
        configuration.port = try reader.integer("REDIS_PORT", in: 1...65535) ?? portInEndpoint ?? 6379
        if let explicitPort = environment["REDIS_PORT"], let portInEndpoint, Int(explicitPort) != portInEndpoint {
            throw reader.invalid("REDIS_ENDPOINT", "its port \(portInEndpoint) differs from REDIS_PORT \(explicitPort)")
        }
        configuration.useTLS = try reader.boolean("REDIS_SSL") ?? true
        configuration.username = try reader.username() ?? "default"
        if let credentials {
            let checked = try validatedCredentials(credentials, defaultUsername: configuration.username, useTLS: configuration.useTLS)
            configuration.username = checked.username
            configuration.authToken = checked.password
        } else {
            configuration.authToken = try reader.authToken(useTLS: configuration.useTLS)
        }
        configuration.tlsCAFile = try reader.readableFile("REDIS_TLS_CA_FILE")
        configuration.tlsServerName = try reader.hostName("REDIS_TLS_SERVER_NAME")
        if let milliseconds = try reader.integer("REDIS_TIMEOUT_MS", in: 1...600_000) {
            configuration.timeout = .milliseconds(milliseconds)
        }
        configuration.poolMaximum = try reader.integer("REDIS_POOL_MAX", in: 1...1000) ?? 10
        // At least the handshake's reply; at most what a 10 GB function could hold.
        configuration.maximumReplyBytes =
            try reader.integer("REDIS_MAX_REPLY_BYTES", in: 4096...(4 << 30))
            ?? RESPParser.Limits.defaultMaximumReplyBytes
        configuration.maximumReplyElements =
            try reader.integer("REDIS_MAX_REPLY_ELEMENTS", in: 64...(256 << 20))
            ?? RESPParser.Limits.defaultMaximumReplyElements
        configuration.clusterMode = try reader.clusterMode() ?? .auto
        return configuration
    }
}

/// What a secret holding Redis credentials holds: the JSON structure Secrets Manager documents
/// for ElastiCache users (`{"username","password","user_arn"}`, what its rotation function for
/// ElastiCache users keeps current), or anything else, which is a replication group AUTH token.
public enum SecretCredentials: Sendable, Equatable, CustomStringConvertible {
    case authToken(String)
    case user(name: String, password: String)

    public var description: String {
        switch self {
        case .authToken: "SecretCredentials.authToken(<redacted>)"
        case .user(let name, _): "SecretCredentials.user(\(name), <redacted>)"
        }
    }
}

extension RedisConfiguration {
    /// The credentials a secret gives, checked: an AUTH token by ElastiCache's token rules (16
    /// to 128 letters, digits and `! & # $ ^ < > -`), a user's password by its user rules (16 to
    /// 128 printable characters, no spaces), both only with TLS. A token is sent for
    /// `defaultUsername` (`REDIS_USERNAME`, else `default`). Messages never repeat the secret.
    public static func validatedCredentials(
        _ credentials: SecretCredentials, defaultUsername: String = "default", useTLS: Bool
    ) throws(RedisError) -> RedisCredentials {
        let invalid = { (reason: String) in RedisError(.configuration, "the Redis credentials in the secret are invalid: \(reason)") }
        let username: String
        let password: String
        switch credentials {
        case .authToken(let token):
            if let problem = authTokenProblem(token) { throw invalid(problem) }
            (username, password) = (defaultUsername, token)
        case .user(let name, let userPassword):
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw invalid("the username must be printable ASCII without spaces")
            }
            let length = userPassword.unicodeScalars.count
            guard (16...128).contains(length) else { throw invalid("the password must be 16 to 128 characters long (it has \(length))") }
            guard userPassword.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw invalid("the password must be printable ASCII without spaces")
            }
            (username, password) = (name, userPassword)
        }
        guard useTLS else { throw invalid("a password requires REDIS_SSL=true (ElastiCache accepts AUTH only with in-transit encryption)") }
        return RedisCredentials(username: username, password: password)
    }

    /// ElastiCache's AUTH token rules; the problem found, in words that never quote the token.
    static func authTokenProblem(_ token: String) -> String? {
        let length = token.unicodeScalars.count
        guard (16...128).contains(length) else { return "it must be 16 to 128 characters long (it has \(length))" }
        let symbols = "!&#$^<>-".unicodeScalars
        guard token.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || symbols.contains($0)) }) else {
            return "only letters, digits and the symbols ! & # $ ^ < > - are allowed"
        }
        return nil
    }
}

/// Validation of one variable at a time, each failure naming it.
private struct EnvironmentReader {
    let environment: [String: String]

    func invalid(_ name: String, _ reason: String) -> RedisError {
        RedisError(.configuration, "\(name) is invalid: \(reason)")
    }

    /// A value that is present and not blank (a blank variable counts as unset).
    private func value(_ name: String) -> String? {
        guard let raw = environment[name] else { return nil }
        let trimmed = raw.trimmingWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// `host`, `host:port`, an IPv6 literal, or `[IPv6]:port` (the form consoles copy).
    func endpoint() throws(RedisError) -> (host: String, port: Int?) {
        guard let raw = value("REDIS_ENDPOINT") else {
            throw RedisError(.configuration, "REDIS_ENDPOINT is required: the primary endpoint of the Redis replication group")
        }
        var host = raw
        var port: Int?
        if raw.hasPrefix("["), let close = raw.firstIndex(of: "]") {
            host = String(raw[raw.index(after: raw.startIndex)..<close])
            let rest = raw[raw.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()), (1...65535).contains(number) else {
                    throw invalid("REDIS_ENDPOINT", "expected [address]:port")
                }
                port = number
            }
        } else if raw.filter({ $0 == ":" }).count == 1, let colon = raw.firstIndex(of: ":") {
            host = String(raw[..<colon])
            guard let number = Int(raw[raw.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("REDIS_ENDPOINT", "the part after ':' is not a port number")
            }
            port = number
        }
        guard isValidHost(host) else {
            throw invalid("REDIS_ENDPOINT", "\"\(raw)\" is not a host name or an IP address")
        }
        return (host, port)
    }

    func hostName(_ name: String) throws(RedisError) -> String? {
        guard let raw = value(name) else { return nil }
        guard isValidHost(raw) else { throw invalid(name, "\"\(raw)\" is not a host name or an IP address") }
        return raw
    }

    private func isValidHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 253
            && host.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_:".unicodeScalars.contains($0))
            }
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(RedisError) -> Int? {
        guard let raw = value(name) else { return nil }
        guard let number = Int(raw) else { throw invalid(name, "\"\(raw)\" is not a whole number") }
        guard range.contains(number) else {
            throw invalid(name, "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func boolean(_ name: String) throws(RedisError) -> Bool? {
        guard let raw = value(name) else { return nil }
        switch raw.lowercased() {
        case "true": return true
        case "false": return false
        default: throw invalid(name, "\"\(raw)\" is neither true nor false")
        }
    }

    func clusterMode() throws(RedisError) -> ClusterMode? {
        guard let raw = value("REDIS_CLUSTER_MODE") else { return nil }
        guard let mode = ClusterMode(rawValue: raw.lowercased()) else {
            throw invalid("REDIS_CLUSTER_MODE", "\"\(raw)\" is none of auto, enabled, disabled")
        }
        return mode
    }

    func username() throws(RedisError) -> String? {
        guard let raw = value("REDIS_USERNAME") else { return nil }
        guard raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw invalid("REDIS_USERNAME", "it must be printable ASCII without spaces")
        }
        return raw
    }

    /// ElastiCache's rules: 16 to 128 printable characters, letters and digits plus only
    /// `! & # $ ^ < > -`, and accepted only with in-transit encryption (a token must never travel
    /// in clear text). The messages describe the rule broken, never the value.
    func authToken(useTLS: Bool) throws(RedisError) -> String? {
        guard let token = environment["REDIS_AUTH_TOKEN"], !token.isEmpty else { return nil }
        if let problem = RedisConfiguration.authTokenProblem(token) { throw invalid("REDIS_AUTH_TOKEN", problem) }
        guard useTLS else {
            throw invalid("REDIS_AUTH_TOKEN", "a token requires REDIS_SSL=true (ElastiCache accepts AUTH only with in-transit encryption)")
        }
        return token
    }

    func readableFile(_ name: String) throws(RedisError) -> String? {
        guard let path = value(name) else { return nil }
        guard access(path, R_OK) == 0 else { throw invalid(name, "\(path) does not exist or is not readable") }
        return path
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
