import Foundation

/// A loopback listener that accepts every connection and never sends a byte: a server that is up
/// and silent (frozen, overloaded, or a stranger on the port). Counts what it accepted.
final class SilentPeer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var accepted: [Int32] = []
    private var stopped = false

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    deinit {
        stop()
    }

    /// Connections accepted so far.
    var acceptedCount: Int {
        lock.withLock { accepted.count }
    }

    /// Closes the accepted connections; the accepting thread closes the listener itself (closing
    /// a descriptor another thread may be polling or accepting on is a race).
    func stop() {
        let descriptors = lock.withLock { () -> [Int32] in
            guard !stopped else { return [] }
            stopped = true
            defer { accepted = [] }
            return accepted
        }
        descriptors.forEach { close($0) }
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 50)
            if lock.withLock({ stopped }) { return }
            guard ready > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            let kept = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                accepted.append(connection)
                return true
            }
            if !kept { close(connection) }
        }
    }
}
