import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `RuntimeEcho` executable, which SwiftPM puts next to the test bundle.
struct RuntimeEchoProcess {
    struct Finished {
        let status: Int32
        let standardOutput: String
        let standardError: String
        var outputLines: [String] { standardOutput.split(separator: "\n").map(String.init) }
    }

    static var executable: URL {
        get throws {
            let runner = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let candidate = URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("RuntimeEcho")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidate.path + " (build it with swift build --build-tests)"])
            }
            return candidate
        }
    }

    let process = Process()
    private let output: URL
    private let errors: URL

    /// A clean environment: nothing from the test runner's (an AWS_LAMBDA_RUNTIME_API there would
    /// change the mode) but what the test gives.
    init(_ arguments: [String], environment: [String: String] = [:], standardInput: String? = nil) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runtime-echo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        output = directory.appendingPathComponent("stdout")
        errors = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.executableURL = try Self.executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        if let standardInput {
            let input = directory.appendingPathComponent("stdin")
            try Data(standardInput.utf8).write(to: input)
            process.standardInput = try FileHandle(forReadingFrom: input)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    /// Waits for the exit (killing the process after `timeout`, which fails the test's expectations).
    func finish(timeout: Duration = .seconds(30)) async throws -> Finished {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill() }
        return Finished(
            status: process.terminationStatus,
            standardOutput: (try? String(contentsOf: output, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        )
    }

    /// SIGKILL, not SIGTERM: the test runner spawns children with SIGTERM blocked, so a
    /// terminated `--serve` would live on after the test.
    func kill() {
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], standardInput: String? = nil) async throws -> Finished {
        try await RuntimeEchoProcess(arguments, environment: environment, standardInput: standardInput).finish()
    }
}

/// A minimal blocking HTTP/1.1 client for loopback (one request a connection), so the tests do not
/// depend on a curl binary or on URLSession.
enum LoopbackClient {
    struct Response {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func send(port: UInt16, method: String, path: String, body: [UInt8] = []) throws -> Response {
        let descriptor = try connect(port: port)
        defer { close(descriptor) }
        let head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure(description: "send failed") }
            sent += count
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[..<count]
        }
        guard let split = received.indices.first(where: { received[$0...].starts(with: [13, 10, 13, 10]) }) else {
            throw Failure(description: "no complete response")
        }
        let lines = String(decoding: received[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: Array(received[(split + 4)...]))
    }

    static func connect(port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw Failure(description: "cannot connect to 127.0.0.1:\(port)")
        }
        return descriptor
    }

    /// A port nobody listens on right now.
    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "cannot find a free port") }
        return UInt16(bigEndian: address.sin_port)
    }
}
