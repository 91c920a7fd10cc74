import Foundation

/// A loopback port whose connects never complete: a listener with a backlog of 0 that never
/// accepts, its queue filled first. Linux drops SYNs to a full accept queue, so a new connect
/// waits in SYN_SENT exactly like one to a black-holed address, with no packet leaving the host.
final class UnansweredPort {
    let port: Int
    private var descriptors: [Int32] = []

    init() throws {
        let (listener, port, bound) = try loopbackListener(backlog: 0)
        descriptors.append(listener)
        self.port = port
        var address = bound
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        // Fill the queue: connects complete until it is full, then hang.
        for _ in 0..<8 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            descriptors.append(filler)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) }
            }
            var entry = pollfd(fd: filler, events: Int16(POLLOUT), revents: 0)
            if poll(&entry, 1, 100) == 0 { return }
        }
    }

    deinit {
        for descriptor in descriptors {
            close(descriptor)
        }
    }
}
