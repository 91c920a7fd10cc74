#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking HTTP/1.1 server on 127.0.0.1: one thread accepts, one thread per connection
/// reads requests (keep-alive, pipelining) and answers each with `responder`, which may block
/// (a Runtime API `/next` waits for an event). Enough for local invocation and tests; never
/// exposed beyond loopback.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public typealias Responder = @Sendable (HTTPRequest) -> HTTPResponse

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Connections {
        var open: Set<Int32> = []
        var accepted = 0
        var stopped = false
    }

    /// The bound port (the kernel's choice when 0 was asked for).
    public let port: UInt16
    private let listener: Int32
    private let responder: Responder
    private let maximumBodySize: Int
    private let maximumConnections: Int
    private let connections = LockedState(Connections())

    /// Binds and starts accepting at once.
    public init(port: UInt16 = 0, maximumBodySize: Int, maximumConnections: Int = 64, responder: @escaping Responder) throws(StartFailure) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw StartFailure(description: "socket: \(LoopbackHTTPServer.systemError())") }
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 128) == 0 else {
            let reason = LoopbackHTTPServer.systemError()
            close(listener)
            throw StartFailure(description: "cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        var boundAddress = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &boundAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.port = UInt16(bigEndian: boundAddress.sin_port)
        self.listener = listener
        self.responder = responder
        self.maximumBodySize = maximumBodySize
        self.maximumConnections = maximumConnections
        guard DetachedThread.start({ [self] in acceptConnections() }) else {
            close(listener)
            throw StartFailure(description: "cannot start the accepting thread")
        }
    }

    /// `127.0.0.1:port`, the form of `AWS_LAMBDA_RUNTIME_API`.
    public var address: String { "127.0.0.1:\(port)" }

    /// How many connections were taken so far: tells a client that keeps its connection alive
    /// from one that reconnects for every request.
    public var acceptedConnections: Int {
        connections.withLock { $0.accepted }
    }

    /// Stops accepting and cuts every open connection; a responder still running finishes alone.
    public func stop() {
        let open = connections.withLock { state in
            state.stopped = true
            return state.open
        }
        // shutdown (not close) wakes the threads blocked in accept/recv; each closes its own socket.
        shutdown(listener, Int32(SHUT_RDWR))
        for connection in open { shutdown(connection, Int32(SHUT_RDWR)) }
    }

    private func acceptConnections() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if connections.withLock({ $0.stopped }) { break }
                // Out of descriptors or memory: wait instead of spinning, then try again.
                usleep(10_000)
                continue
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            let admitted = connections.withLock { state -> Bool in
                guard !state.stopped, state.open.count < maximumConnections else { return false }
                state.open.insert(connection)
                state.accepted += 1
                return true
            }
            guard admitted, DetachedThread.start({ [self] in serve(connection) }) else {
                if admitted { connections.withLock { _ = $0.open.remove(connection) } }
                send(HTTPResponse(status: 503), on: connection, keepAlive: false)
                close(connection)
                continue
            }
        }
        close(listener)
    }

    private func serve(_ connection: Int32) {
        defer {
            connections.withLock { _ = $0.open.remove(connection) }
            close(connection)
        }
        var noDelay: Int32 = 1
        setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var parser = HTTPRequestParser(maximumBodySize: maximumBodySize)
        var sentContinue = false
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do {
                switch try parser.next() {
                case .request(let request):
                    sentContinue = false
                    send(responder(request), on: connection, keepAlive: request.keepAlive)
                    if !request.keepAlive { return }
                    continue
                case .needsMoreData(let expectsContinue):
                    if expectsContinue && !sentContinue {
                        sentContinue = true
                        write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), on: connection)
                    }
                }
            } catch {
                send(HTTPResponse(status: error.status), on: connection, keepAlive: false)
                return
            }
            let received = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if received < 0 && errno == EINTR { continue }
            guard received > 0 else { return }
            chunk.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[..<received])) }
        }
    }

    private func send(_ response: HTTPResponse, on connection: Int32, keepAlive: Bool) {
        write(response.serialized(keepAlive: keepAlive), on: connection)
    }

    private func write(_ bytes: [UInt8], on connection: Int32) {
        // MSG_NOSIGNAL: a client that went away must not kill the process with SIGPIPE.
        writeFully(bytes) { Glibc.send(connection, $0, $1, Int32(MSG_NOSIGNAL)) }
    }

    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
