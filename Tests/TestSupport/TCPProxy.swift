import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on a free loopback port in front of a real server, for faults a real server does
/// not make on its own: `forward` passes bytes both ways; `garbage` answers whatever a client
/// sends with bytes that are not RESP (and forwards nothing); `hang` swallows what clients send
/// and answers nothing. The mode applies to open connections too, from their next read.
/// A cluster node announced at the proxy's port (`--cluster-announce-port`) is reached through it
/// by clients while the cluster's own bus stays direct, so the cluster sees a healthy node.
public final class TCPProxy: @unchecked Sendable {
    public enum Mode: Sendable {
        case forward, garbage, hang
    }

    public let port: Int
    private let targetPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var currentMode = Mode.forward
    /// Open connections: both descriptors, and how many of their two pumps still run. A pair is
    /// closed (under the lock) when both ended, so `stop` never touches a reused descriptor.
    private var pairs: [Int32: (server: Int32, running: Int)] = [:]
    private var stopped = false

    public init(targetPort: Int, port: Int? = nil) throws {
        self.targetPort = targetPort
        self.port = try port ?? freeLoopbackPort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: self.port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, listen(listener, 64) == 0 else {
            close(listener)
            throw RedisServer.Failure.didNotStart("the proxy cannot listen on \(self.port): \(errno)")
        }
        Thread { [self] in acceptLoop() }.start()
    }

    deinit {
        stop()
    }

    public var mode: Mode {
        get { lock.withLock { currentMode } }
        set { lock.withLock { currentMode = newValue } }
    }

    /// Closes the listener and every connection.
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            for (client, pair) in pairs {
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(pair.server, Int32(SHUT_RDWR))
            }
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopbackAddress(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            let registered = lock.withLock { () -> Bool in
                guard !stopped, connected else { return false }
                pairs[client] = (server, 2)
                return true
            }
            guard registered else {
                close(client)
                close(server)
                if lock.withLock({ stopped }) { return }
                continue
            }
            Thread { [self] in pump(from: client, to: server, clientSide: true, pair: client) }.start()
            Thread { [self] in pump(from: server, to: client, clientSide: false, pair: client) }.start()
        }
    }

    /// Copies one direction until either end closes; client bytes go through `mode` first.
    private func pump(from source: Int32, to destination: Int32, clientSide: Bool, pair: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        defer {
            lock.withLock {
                shutdown(source, Int32(SHUT_RDWR))
                shutdown(destination, Int32(SHUT_RDWR))
                guard let entry = pairs[pair] else { return }
                if entry.running == 1 {
                    pairs[pair] = nil
                    close(pair)
                    close(entry.server)
                } else {
                    pairs[pair] = (entry.server, entry.running - 1)
                }
            }
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            switch clientSide ? mode : .forward {
            case .forward:
                guard writeAll(buffer[0..<count], to: destination) else { return }
            case .garbage:
                guard writeAll(Array("@@ not RESP at all \u{1}\u{2}\r\n".utf8)[...], to: source) else { return }
            case .hang:
                continue
            }
        }
    }

    private func writeAll(_ bytes: ArraySlice<UInt8>, to descriptor: Int32) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }
}
