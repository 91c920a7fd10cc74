import Foundation
import RedisPool

/// A stand-in Redis on a loopback port that answers `HELLO` like a server and every other command
/// with a reply chosen by the test: a hostile one, or a plain `+OK`/bulk once it "starts behaving".
///
/// It counts the connections it accepted and those the client closed, so a test can tell a
/// connection dropped after a protocol error from one put back in the pool.
final class HostileRedisServer: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// Every command other than `HELLO` gets these bytes.
        case hostile([UInt8])
        /// `GET` answers `$5\r\nvalue\r\n`, anything else `+OK`.
        case wellBehaved
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var behaviour: Behaviour
    private var accepted = 0
    private var closedByClient = 0
    private var connections: [Int32] = []

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        (listener, port, _) = try loopbackListener(backlog: 16)
        Thread { [self] in acceptLoop() }.start()
    }

    /// Wakes the accept and every reader; their threads then close what they hold. (The threads
    /// keep the object alive until then, so this is a call, not a deinit.)
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        lock.withLock { connections.forEach { shutdown($0, Int32(SHUT_RDWR)) } }
    }

    func behave(_ behaviour: Behaviour) {
        lock.withLock { self.behaviour = behaviour }
    }

    var acceptedConnections: Int { lock.withLock { accepted } }

    var connectionsClosedByTheClient: Int { lock.withLock { closedByClient } }

    /// Waits until the client has closed `count` connections (the server notices asynchronously);
    /// false if it has not within 10 s, a bound that only a hung test reaches.
    func waitForConnectionsClosedByTheClient(_ count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while connectionsClosedByTheClient < count {
            guard Date() < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                if errno == EINTR { continue }
                return
            }
            lock.withLock {
                accepted += 1
                connections.append(connection)
            }
            Thread { [self] in serve(connection) }.start()
        }
    }

    /// Reads commands (RESP arrays, which `RESPParser` reads as well as replies) and answers each.
    private func serve(_ connection: Int32) {
        defer {
            // Forgotten before it is closed: `stop` must never shut a number reused since.
            lock.withLock { connections.removeAll { $0 == connection } }
            close(connection)
        }
        var parser = RESPParser()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else {
                // An end of stream, or a reset (the client closed with our reply unread).
                lock.withLock { closedByClient += 1 }
                return
            }
            parser.append(buffer[0..<count])
            while let command = try? parser.next() {
                let name = command.arrayValue?.first?.stringValue?.uppercased()
                guard sendAll(reply(to: name), on: connection) else {
                    // The client hung up in the middle of a reply: it closed the connection.
                    lock.withLock { closedByClient += 1 }
                    return
                }
            }
        }
    }

    private func reply(to name: String?) -> [UInt8] {
        if name == "HELLO" { return Array("+OK\r\n".utf8) }
        switch lock.withLock({ behaviour }) {
        case .hostile(let bytes): return bytes
        case .wellBehaved: return Array((name == "GET" ? "$5\r\nvalue\r\n" : "+OK\r\n").utf8)
        }
    }

    private func sendAll(_ bytes: [UInt8], on connection: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else {
                if sent < 0 && errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }
}
