import Foundation

/// A real `redis-server` on a free loopback port, for tests: plain or TLS-only, with a password
/// for the default user and ACL users, `DEBUG` enabled for local connections, no persistence.
///
/// Faults: `stop()` (SIGTERM), `kill()` (SIGKILL), `restart()` on the same port, `pause()` /
/// `resume()` (SIGSTOP / SIGCONT), and `cli(...)` to run any command (CLIENT KILL, DEBUG SLEEP,
/// ACL SETUSER) through `redis-cli`, independently of the client under test.
/// The process is killed and its folder removed when the object goes away.
public final class RedisServer: @unchecked Sendable {
    public struct User: Sendable {
        public var name: String
        public var password: String
        /// ACL rules after `on >password`, e.g. `["~price:*", "+@all"]`.
        public var rules: [String]

        public init(name: String, password: String, rules: [String] = ["~*", "&*", "+@all"]) {
            self.name = name
            self.password = password
            self.rules = rules
        }
    }

    public struct Options: Sendable {
        /// `--requirepass`: the default user's password.
        public var password: String?
        public var users: [User]
        /// When set, the server listens for TLS only (`--port 0 --tls-port P`).
        public var tls: TLSCertificates?
        /// With `tls`: the `tls-protocols` the server accepts (`"TLSv1.2"`), nil for its default.
        public var tlsProtocols: String?
        /// With `tls`: the TLS 1.2 `tls-ciphers` it offers (`"AES128-SHA"`), nil for its default.
        public var tlsCiphers: String?
        public var extraArguments: [String]

        public init(
            password: String? = nil, users: [User] = [], tls: TLSCertificates? = nil,
            tlsProtocols: String? = nil, tlsCiphers: String? = nil, extraArguments: [String] = []
        ) {
            self.password = password
            self.users = users
            self.tls = tls
            self.tlsProtocols = tlsProtocols
            self.tlsCiphers = tlsCiphers
            self.extraArguments = extraArguments
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case didNotStart(String)
        case commandFailed(String)

        public var description: String {
            switch self {
            case .didNotStart(let reason): "redis-server did not start: \(reason)"
            case .commandFailed(let reason): "command failed: \(reason)"
            }
        }
    }

    public let options: Options
    public let port: Int
    public let directory: String
    public var host: String { "127.0.0.1" }

    private let lock = NSLock()
    private var process: SpawnedProcess?

    /// Starts a server on a free port (trying a few ports: another test may take one between the
    /// probe and the bind).
    public static func start(_ options: Options = Options()) throws -> RedisServer {
        var lastFailure = Failure.didNotStart("no port tried")
        for _ in 0..<5 {
            let server = try RedisServer(options: options, port: try freeLoopbackPort())
            do {
                try server.launch()
                return server
            } catch let failure as Failure {
                lastFailure = failure
            }
        }
        throw lastFailure
    }

    private init(options: Options, port: Int) throws {
        self.options = options
        self.port = port
        self.directory = try TemporaryDirectory.make(prefix: "redis-server")
    }

    deinit {
        signal(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The process id while running.
    public var processIdentifier: Int32? {
        lock.withLock { process?.pid }
    }

    /// Graceful stop (SIGTERM), waiting for the process to exit.
    public func stop() {
        signal(SIGTERM)
    }

    /// Abrupt stop (SIGKILL): sockets are reset by the kernel, nothing is flushed.
    public func kill() {
        signal(SIGKILL)
    }

    /// Starts again on the same port, after a stop or a kill (or kills first if still running).
    public func restart() throws {
        signal(SIGKILL)
        var lastFailure = Failure.didNotStart("not tried")
        // The port may linger briefly after a kill; retry the bind for up to a second.
        for _ in 0..<20 {
            do {
                try launch()
                return
            } catch let failure as Failure {
                lastFailure = failure
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        throw lastFailure
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    public func pause() {
        lock.withLock { process?.send(signal: SIGSTOP) }
    }

    /// Thaws a paused server (SIGCONT).
    public func resume() {
        lock.withLock { process?.send(signal: SIGCONT) }
    }

    /// Runs one command with `redis-cli` as the default user (or `user`) and returns its output.
    @discardableResult
    public func cli(_ arguments: String..., as user: User? = nil) throws -> String {
        try cli(arguments, as: user)
    }

    /// `cli` with the arguments as an array.
    @discardableResult
    public func cli(_ arguments: [String], as user: User? = nil) throws -> String {
        var connection = ["-h", host, "-p", String(port), "--no-auth-warning"]
        if let tls = options.tls {
            connection += ["--tls", "--cacert", tls.caCertificatePath]
        }
        if let user {
            connection += ["--user", user.name, "--pass", user.password]
        } else if let password = options.password {
            connection += ["-a", password]
        }
        do {
            return try CommandLineTool.run("redis-cli", connection + arguments)
        } catch {
            throw Failure.commandFailed("redis-cli \(arguments.joined(separator: " ")): \(error)")
        }
    }

    private var arguments: [String] {
        var arguments = [
            "--bind", host, "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", directory, "--logfile", directory + "/redis.log",
            "--enable-debug-command", "local",
        ]
        if let tls = options.tls {
            arguments += [
                "--port", "0", "--tls-port", String(port),
                "--tls-cert-file", tls.serverCertificatePath, "--tls-key-file", tls.serverKeyPath,
                "--tls-ca-cert-file", tls.caCertificatePath, "--tls-auth-clients", "no",
            ]
            if let protocols = options.tlsProtocols { arguments += ["--tls-protocols", protocols] }
            if let ciphers = options.tlsCiphers { arguments += ["--tls-ciphers", ciphers] }
        } else {
            arguments += ["--port", String(port)]
        }
        if let password = options.password {
            arguments += ["--requirepass", password]
        }
        for user in options.users {
            arguments += ["--user", user.name, "on", ">" + user.password] + user.rules
        }
        return arguments + options.extraArguments
    }

    private func launch() throws {
        let process = try SpawnedProcess(
            executable: CommandLineTool.locate("redis-server").path, arguments: arguments,
            environment: ProcessInfo.processInfo.environment
        )
        lock.withLock { self.process = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let exit = process.exit {
                lock.withLock { self.process = nil }
                throw Failure.didNotStart("exited with \(exit); log: \(logTail())")
            }
            if Self.acceptsConnections(port: port) { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        signal(SIGKILL)
        throw Failure.didNotStart("port \(port) not listening after 10 s; log: \(logTail())")
    }

    /// Sends `signal` (continuing a paused process so it can act on it) and waits for the exit.
    private func signal(_ signal: Int32) {
        let running = lock.withLock { () -> SpawnedProcess? in
            defer { process = nil }
            return process
        }
        guard let running else { return }
        running.send(signal: signal)
        running.send(signal: SIGCONT)
        // A graceful stop that has not ended in 10 s is forced: a test must never hang on it.
        if running.waitForExit(timeout: .seconds(10)) == nil { running.kill() }
    }

    private func logTail() -> String {
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        return String(log.suffix(600))
    }

    private static func acceptsConnections(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A port that was free on 127.0.0.1 a moment ago (the kernel picked it for a bind to port 0).
public func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw RedisServer.Failure.didNotStart("socket: \(errno)") }
    defer { close(descriptor) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw RedisServer.Failure.didNotStart("cannot bind a probe socket: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}

/// Runs a command-line tool from PATH and returns its standard output.
enum CommandLineTool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func locate(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw Failure(description: "\(name) not found in PATH")
    }

    @discardableResult
    static func run(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = try locate(name)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting: a full pipe would block the child and the wait forever.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: outputData, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(name) exited with \(process.terminationStatus): \(String(decoding: errorData, as: UTF8.self))")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
