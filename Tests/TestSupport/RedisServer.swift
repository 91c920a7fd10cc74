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
        /// The loopback address to listen on (any of 127.0.0.0/8; failover tests use two).
        public var host: String

        public init(
            password: String? = nil, users: [User] = [], tls: TLSCertificates? = nil,
            tlsProtocols: String? = nil, tlsCiphers: String? = nil, extraArguments: [String] = [],
            host: String = "127.0.0.1"
        ) {
            self.password = password
            self.users = users
            self.tls = tls
            self.tlsProtocols = tlsProtocols
            self.tlsCiphers = tlsCiphers
            self.extraArguments = extraArguments
            self.host = host
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
    public var host: String { options.host }

    private let lock = NSLock()
    private var process: SpawnedProcess?
    /// While the server is stopped or killed: a socket bound to its address and port (not
    /// listening), so connects are refused as by a dead server and nothing else on the machine
    /// can take the port before `restart()` (see `PortHold`).
    private var hold: PortHold?

    /// Starts a server on a free port (trying a few ports: another test may take one between the
    /// probe and the bind), or on `port` when given.
    public static func start(_ options: Options = Options(), port: Int? = nil) throws -> RedisServer {
        var lastFailure = Failure.didNotStart("no port tried")
        for _ in 0..<(port == nil ? 5 : 1) {
            let server = try RedisServer(options: options, port: try port ?? freeLoopbackPort())
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
                lock.withLock { hold = nil }
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

    /// Ready means this process said so in its own log: a probe connect alone would also
    /// succeed against another program that took the port while this server was down (and then
    /// the server's bind fails and it exits, while the test talks to a stranger).
    private func launch() throws {
        let readyBefore = readyLines()
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
            if readyLines() > readyBefore, Self.acceptsConnections(host: host, port: port) { return }
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
        let hold = PortHold(host: host, port: port)
        lock.withLock { self.hold = hold }
    }

    private func readyLines() -> Int {
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        return log.components(separatedBy: "Ready to accept connections").count - 1
    }

    private func logTail() -> String {
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        return String(log.suffix(600))
    }

    private static func acceptsConnections(host: String, port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopbackAddress(port: port, host: host)
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

func loopbackAddress(port: Int, host: String = "127.0.0.1") -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    if inet_pton(AF_INET, host, &address.sin_addr) != 1 {
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    }
    return address
}

/// Keeps a stopped server's port from other programs until it restarts: a socket bound to the
/// address and port with `SO_REUSEADDR`, never listening. Connects to it are refused (RST), as to
/// a dead server; another program's bind to port 0 or connect never picks a port held this way;
/// and `redis-server`, which binds with `SO_REUSEADDR` too, can bind it again (Linux lets
/// `SO_REUSEADDR` sockets share a port while none of them listens).
///
/// Without it, a suite running in parallel could take the port of a killed server (every test
/// binds port 0 on loopback) and the killed server's clients would talk to a stranger: one that
/// accepts and never answers makes their calls wait out the timeout.
final class PortHold {
    private let descriptor: Int32

    init?(host: String, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: port, host: host)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard bound else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
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
