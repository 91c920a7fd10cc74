import Foundation
import Testing
import TestSupport

/// The fault suite's 10 s stall came from here: while a test's redis-server was killed, its port
/// was free for any program on the machine (every test binds port 0 on loopback); one that took
/// it and never answered made the function wait out its timeout twice, and the restart's probe
/// connect took the stranger for the restarted server. Now the port is held while the server is
/// down, and a restart is ready only when the server's own log says so.
@Suite struct PortHoldTests {
    private static func socketBound(to port: Int, reuse: Bool, listen shouldListen: Bool) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        if reuse { setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, !shouldListen || listen(descriptor, 8) == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    @Test func aKilledServersPortCannotBeTakenAndTheRestartIsTheSameServer() throws {
        let redis = try RedisServer.start()
        try redis.cli("SET", "k", "1")
        redis.kill()
        // A stranger binding the port the ordinary way (as servers binding port 0 would land on it) cannot.
        let stranger = Self.socketBound(to: redis.port, reuse: false, listen: true)
        #expect(stranger == nil, "another program could take the killed server's port")
        stranger.map { _ = close($0) }
        #expect(throws: (any Error).self) { try redis.cli("PING") }  // refused, as by a dead server
        try redis.restart()
        #expect(try redis.cli("PING") == "PONG")
    }

    @Test func aRestartIsNotFooledByAStrangerListeningOnThePort() throws {
        let redis = try RedisServer.start()
        redis.kill()
        // A stranger that forces its way in (SO_REUSEADDR) and listens: the restarted server
        // cannot bind; the restart must fail, not report the stranger as the server.
        let stranger = try #require(Self.socketBound(to: redis.port, reuse: true, listen: true))
        defer { close(stranger) }
        #expect(throws: RedisServer.Failure.self) { try redis.restart() }
    }
}
