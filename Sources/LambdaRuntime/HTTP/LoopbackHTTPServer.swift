#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking HTTP/1.1 server on 127.0.0.1: one thread accepts, one thread per connection
/// reads requests (keep-alive, pipelining) and answers each with `responder`, which may block
/// (a Runtime API `/next` waits for an event). Enough for local invocation and tests; never
/// exposed beyond loopback.
///
/// Bounded against a client that holds on to it (`Limits`): a request's head must arrive within a
/// deadline and its body must keep coming, or the connection is answered 408 and closed; when every
/// connection slot is taken, the longest-idle keep-alive connection is closed for a newcomer (who
/// otherwise waits in the listen backlog for a slot, rather than being turned away); and a server
/// may cap how many request bodies it reads at once (the other requests wait, their bytes in the
/// kernel's socket buffers, not in this process).
public final class LoopbackHTTPServer: @unchecked Sendable {
    public typealias Responder = @Sendable (HTTPRequest) -> HTTPResponse

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Deadlines and memory bounds; the defaults suit a server on loopback, tests shorten them.
    struct Limits: Sendable {
        /// A request's head must be complete this long after its first byte.
        var headerDeadline: Duration = .seconds(10)
        /// A body must not pause longer than this between two reads...
        var bodyIdleTimeout: Duration = .seconds(10)
        /// ...and must arrive at this average rate at least (bytes per second, after
        /// `bodyIdleTimeout` of grace), so a trickle cannot hold a connection for ever.
        var minimumBodyRate = 64 * 1024
        /// How many requests may be reading a body at once, each holding its permit until it is
        /// answered; nil for no limit. Bodies that arrive whole with their head need no permit.
        var bodiesInMemory: Int?
    }

    private struct Connection {
        /// Between requests, with nothing buffered: may be closed for a newcomer.
        var idle = true
        var idleSince = ContinuousClock.now
        var evicted = false
    }

    private struct Connections {
        var open: [Int32: Connection] = [:]
        var accepted = 0
        var stopped = false
        var bodyPermits: Int

        var hasEvictable: Bool { open.values.contains { $0.idle && !$0.evicted } }
    }

    /// The bound port (the kernel's choice when 0 was asked for).
    public let port: UInt16
    private let listener: Int32
    private let responder: Responder
    private let maximumBodySize: Int
    private let maximumConnections: Int
    private let limits: Limits
    private let connections: LockedState<Connections>

    /// Binds and starts accepting at once.
    public convenience init(port: UInt16 = 0, maximumBodySize: Int, maximumConnections: Int = 64, responder: @escaping Responder) throws(StartFailure) {
        try self.init(port: port, maximumBodySize: maximumBodySize, maximumConnections: maximumConnections, limits: Limits(), responder: responder)
    }

    init(port: UInt16 = 0, maximumBodySize: Int, maximumConnections: Int = 64, limits: Limits, responder: @escaping Responder) throws(StartFailure) {
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
        self.limits = limits
        self.connections = LockedState(Connections(bodyPermits: limits.bodiesInMemory ?? Int.max))
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
        connections.withLock { state in
            state.stopped = true
            // shutdown (not close) wakes the threads blocked in accept/poll/recv; each closes its own
            // socket, after leaving `open`, so under this lock every descriptor in `open` is valid.
            shutdown(listener, Int32(SHUT_RDWR))
            for connection in state.open.keys { shutdown(connection, Int32(SHUT_RDWR)) }
        }
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
            guard admit(connection) else {
                close(connection)
                break
            }
            guard DetachedThread.start({ [self] in serve(connection) }) else {
                connections.withLock { _ = $0.open.removeValue(forKey: connection) }
                send(HTTPResponse(status: 503), on: connection, keepAlive: false)
                close(connection)
                continue
            }
        }
        close(listener)
    }

    private enum Admission {
        case admitted, evicting, stopped
    }

    /// Waits for a free slot for `connection`: when every slot is taken, the longest-idle
    /// keep-alive connection is closed to make one; with none idle, the newcomer waits for a request
    /// to finish or a deadline to pass. False once the server stops.
    private func admit(_ connection: Int32) -> Bool {
        while true {
            let admission = connections.withLock(when: { $0.stopped || $0.open.count < maximumConnections || $0.hasEvictable }) { state -> Admission in
                if state.stopped { return .stopped }
                if state.open.count < maximumConnections {
                    state.open[connection] = Connection()
                    state.accepted += 1
                    return .admitted
                }
                let idle = state.open.filter { $0.value.idle && !$0.value.evicted }
                if let (victim, _) = idle.min(by: { $0.value.idleSince < $1.value.idleSince }) {
                    state.open[victim]?.evicted = true
                    // Under the lock: the descriptor is still open (see `stop`). Its thread sees the
                    // end of the stream and frees the slot.
                    shutdown(victim, Int32(SHUT_RDWR))
                }
                return .evicting
            }
            switch admission {
            case .admitted: return true
            case .stopped: return false
            case .evicting: continue
            }
        }
    }

    /// The body of the request being read: when it started and when bytes last came.
    private struct BodyProgress {
        let started: ContinuousClock.Instant
        var lastRead: ContinuousClock.Instant
        let length: Int
    }

    private func serve(_ connection: Int32) {
        var holdsBodyPermit = false
        defer {
            connections.withLock { state in
                state.open.removeValue(forKey: connection)
                if holdsBodyPermit { state.bodyPermits += 1 }
            }
            close(connection)
        }
        var noDelay: Int32 = 1
        setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var parser = HTTPRequestParser(maximumBodySize: maximumBodySize)
        var sentContinue = false
        var idle = true
        /// The first byte of the request being read; nil between requests.
        var headStarted: ContinuousClock.Instant?
        var body: BodyProgress?
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do {
                switch try parser.next() {
                case .request(let request):
                    sentContinue = false
                    send(responder(request), on: connection, keepAlive: request.keepAlive)
                    if holdsBodyPermit {
                        connections.withLock { $0.bodyPermits += 1 }
                        holdsBodyPermit = false
                    }
                    body = nil
                    if !request.keepAlive { return }
                    if parser.hasBufferedBytes {
                        headStarted = .now  // a pipelined request
                    } else {
                        headStarted = nil
                        idle = true
                        markIdle(connection)
                    }
                    continue
                case .needsMoreData(let expectsContinue):
                    if let length = parser.pendingBodyLength, length > 0, body == nil {
                        if !holdsBodyPermit {
                            guard acquireBodyPermit() else { return }
                            holdsBodyPermit = true
                        }
                        // Timed from now: waiting for a permit is the server's doing, not the client's.
                        body = BodyProgress(started: .now, lastRead: .now, length: length)
                    }
                    if expectsContinue && !sentContinue {
                        sentContinue = true
                        write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), on: connection)
                    }
                }
            } catch {
                send(HTTPResponse(status: error.status), on: connection, keepAlive: false)
                return
            }
            guard waitForBytes(on: connection, until: deadline(headStarted: headStarted, body: body)) else {
                send(HTTPResponse(status: 408), on: connection, keepAlive: false)
                return
            }
            if idle {
                guard markBusy(connection) else { return }  // closed for a newcomer meanwhile
                idle = false
            }
            let received = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if received < 0 && errno == EINTR { continue }
            guard received > 0 else { return }
            chunk.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[..<received])) }
            if headStarted == nil { headStarted = .now }
            body?.lastRead = .now
        }
    }

    /// When the client must have sent more: nil while idle between requests (such a connection is
    /// closed only for a newcomer); the header deadline while a head is arriving; for a body, a
    /// pause of `bodyIdleTimeout` or falling below `minimumBodyRate`, whichever comes first.
    private func deadline(headStarted: ContinuousClock.Instant?, body: BodyProgress?) -> ContinuousClock.Instant? {
        if let body {
            let transfer = Duration.seconds(Double(body.length) / Double(max(1, limits.minimumBodyRate)))
            return min(body.lastRead + limits.bodyIdleTimeout, body.started + limits.bodyIdleTimeout + transfer)
        }
        return headStarted.map { $0 + limits.headerDeadline }
    }

    /// Waits until the connection is readable (bytes, end of stream or an error); false once
    /// `deadline` has passed without that.
    private func waitForBytes(on connection: Int32, until deadline: ContinuousClock.Instant?) -> Bool {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = ContinuousClock.now.duration(to: deadline)
                guard remaining > .zero else { return false }
                let (seconds, attoseconds) = remaining.components
                timeout = Int32(min(Int64(Int32.max), seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1))
            }
            var descriptor = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, timeout)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return true }  // let recv report it
        }
    }

    /// Leaves the idle set, unless the connection was picked for eviction meanwhile (then false).
    private func markBusy(_ connection: Int32) -> Bool {
        connections.withLock { state in
            guard let current = state.open[connection], !current.evicted else { return false }
            state.open[connection]?.idle = false
            return true
        }
    }

    private func markIdle(_ connection: Int32) {
        connections.withLock { state in
            state.open[connection]?.idle = true
            state.open[connection]?.idleSince = .now
        }
    }

    /// Waits for one of the body permits; false once the server stops.
    private func acquireBodyPermit() -> Bool {
        connections.withLock(when: { $0.stopped || $0.bodyPermits > 0 }) { state in
            guard !state.stopped else { return false }
            state.bodyPermits -= 1
            return true
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
