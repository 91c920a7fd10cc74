import Foundation
import RedisPool
import TestSupport
import Testing

/// Ten thousand borrow/return cycles on four threads with faults injected all along: connections
/// killed by the server, commands that time out, error replies. Afterwards no socket to the
/// server may remain beyond the pool's idle ones, and none once the client is gone.
@Suite struct DescriptorLeakTests {
    @Test(arguments: [false, true])
    func noDescriptorLeaksAfterTenThousandCyclesWithFaults(tls: Bool) throws {
        let certificates = tls ? try TLSCertificates.make() : nil
        let server = try RedisServer.start(RedisServer.Options(tls: certificates))
        let cycles = tls ? 2_000 : 10_000
        let threads = 4
        var client: RedisClient? = try server.client(timeout: .milliseconds(100), poolMaximum: threads)
        try client?.command(RedisCommand("SET", "k", "v"))

        onThreads(threads) { [client] thread in
            guard let shared = client else { return }
            for cycle in 0..<(cycles / threads) {
                switch cycle % 500 {
                case 100 where thread == 0:
                    _ = try? server.cli("CLIENT", "KILL", "TYPE", "normal")
                case 300 where thread == 0:
                    // Every connection busy in the sleep times out and is closed.
                    inBackground { _ = try? server.cli("DEBUG", "SLEEP", "0.15") }
                case 400:
                    _ = try? shared.command(RedisCommand("HGET", "k", "f"))  // WRONGTYPE reply
                default:
                    _ = try? shared.command(RedisCommand("GET", "k"))
                }
            }
        }

        #expect(try client?.command(RedisCommand("GET", "k")) == .bulk("v"))
        let open = SocketCensus.descriptorsConnected(toPort: server.port)
        #expect(open >= 1 && open <= threads)
        client = nil
        #expect(SocketCensus.descriptorsConnected(toPort: server.port) == 0)
    }
}
