import Glibc

/// A non-blocking TCP socket: every wait is a `poll` bounded by a deadline, so no call can hang
/// longer than the timeout that governs it.
final class Socket {
    private(set) var descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close()
    }

    /// Resolves `host` now (never cached: an ElastiCache failover moves the endpoint's DNS name)
    /// and tries each address in turn until one connects or the deadline passes.
    ///
    /// `getaddrinfo` itself cannot be given a timeout; the resolver's own (a few seconds at most
    /// with the default resolv.conf) bounds it, and the deadline is checked right after.
    static func connect(host: String, port: Int, deadline: Deadline) throws(RedisError) -> Socket {
        let addresses = try resolve(host: host, port: port)
        defer { freeaddrinfo(addresses) }
        var lastFailure = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = addresses
        while let info = entry?.pointee {
            entry = info.ai_next
            if deadline.hasPassed { throw deadline.expired("connecting to \(host):\(port)") }
            switch attemptConnect(info, deadline: deadline) {
            case .success(let socket): return socket
            case .failure(.timedOut): throw deadline.expired("connecting to \(host):\(port)")
            case .failure(.refused(let reason)): lastFailure = reason
            }
        }
        throw RedisError(.connectFailed, "cannot connect to \(host):\(port): \(lastFailure)")
    }

    private static func resolve(host: String, port: Int) throws(RedisError) -> UnsafeMutablePointer<addrinfo> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let result else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw RedisError(.connectFailed, "cannot resolve \(host): \(reason)")
        }
        return result
    }

    private enum AttemptFailure: Error {
        case timedOut
        case refused(String)
    }

    private static func attemptConnect(_ info: addrinfo, deadline: Deadline) -> Result<Socket, AttemptFailure> {
        let descriptor = Glibc.socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard descriptor >= 0 else { return .failure(.refused(lastErrorText())) }
        let socket = Socket(descriptor: descriptor)
        socket.setOption(Int32(IPPROTO_TCP), TCP_NODELAY)  // one command, one segment, no 40 ms Nagle stall
        // Keepalive notices flows a NAT or a failover dropped silently, and keeps NAT mappings
        // warm. Linux waits two hours before the first probe by default, far longer than a warm
        // Lambda environment lives: probe after 60 s idle, every 10 s, give up after 3.
        socket.setOption(SOL_SOCKET, SO_KEEPALIVE)
        socket.setOption(Int32(IPPROTO_TCP), TCP_KEEPIDLE, 60)
        socket.setOption(Int32(IPPROTO_TCP), TCP_KEEPINTVL, 10)
        socket.setOption(Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)
        if Glibc.connect(descriptor, info.ai_addr, info.ai_addrlen) == 0 { return .success(socket) }
        guard errno == EINPROGRESS else { return .failure(.refused(lastErrorText())) }
        guard socket.waitFor(Int16(POLLOUT), deadline: deadline) else { return .failure(.timedOut) }
        var pending: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length) == 0 else {
            return .failure(.refused(lastErrorText()))
        }
        guard pending == 0 else { return .failure(.refused(String(cString: strerror(pending)))) }
        return .success(socket)
    }

    /// Best effort: a socket option the kernel refuses leaves a working, if less tuned, socket.
    private func setOption(_ level: Int32, _ option: Int32, _ value: Int32 = 1) {
        var value = value
        _ = setsockopt(descriptor, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Waits until `events` are ready; false when the deadline passed first. An error or hang-up
    /// condition counts as ready: the next send or recv reports it precisely.
    func waitFor(_ events: Int16, deadline: Deadline) -> Bool {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        while true {
            let timeout = deadline.remainingMilliseconds
            let ready = poll(&entry, 1, timeout)
            if ready > 0 { return true }
            if ready == 0 && timeout == 0 { return false }
            if ready < 0 && errno != EINTR { return true }
        }
    }

    /// Readable right now (data, EOF or an error), without waiting.
    func isReadableNow() -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) != 0
    }

    /// Sends every byte; `MSG_NOSIGNAL` because a peer that went away must be an error, not SIGPIPE.
    func sendAll(_ bytes: [UInt8], deadline: Deadline) throws(RedisError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                guard waitFor(Int16(POLLOUT), deadline: deadline) else { throw deadline.expired("sending a command") }
            } else if errno != EINTR {
                throw RedisError(.connectionClosed, "sending failed: \(Self.lastErrorText())")
            }
        }
    }

    /// Receives at least one byte; EOF and resets are `.connectionClosed`.
    func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(RedisError) -> Int {
        while true {
            // Poll first: a reply is never there the instant a command leaves, so trying recv
            // first would cost one EAGAIN round trip into the kernel per command.
            guard waitFor(Int16(POLLIN), deadline: deadline) else { throw deadline.expired("waiting for a reply") }
            let received = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if received > 0 { return received }
            if received == 0 { throw RedisError(.connectionClosed, "the server closed the connection") }
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                throw RedisError(.connectionClosed, "receiving failed: \(Self.lastErrorText())")
            }
        }
    }

    func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    static func lastErrorText() -> String {
        String(cString: strerror(errno))
    }
}
