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
        (listener, port, _) = try loopbackListener(backlog: 16)
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
