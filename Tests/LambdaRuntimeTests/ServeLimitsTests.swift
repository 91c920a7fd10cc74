import Foundation
import Testing
import TestSupport
@testable import LambdaRuntime

#if canImport(Glibc)
import Glibc
#endif

/// `--serve` against callers that hold on to it: half-sent requests, idle keep-alive connections
/// filling every slot, and many large bodies sent at once. Waits are bounded generously; nothing
/// here measures time.
@Suite struct ServeLimitsTests {
    static let invokePath = "/2015-03-31/functions/function/invocations"

    @Test func halfSentRequestsTimeOutAndTheNextCallerIsServed() async throws {
        let server = try Raw.okServer(headerDeadline: .milliseconds(300))
        defer { server.stop() }
        let holders = try Raw.hold(64, connectionsTo: server.port, sending: "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        defer { holders.forEach { close($0) } }
        try await Raw.waitUntil { server.acceptedConnections == 64 }

        let port = server.port
        let answer = try await onOwnThread { Result { try LoopbackClient.send(port: port, method: "POST", path: "/x", body: Array("hi".utf8)) } }.get()

        #expect(answer.status == 200, "the 65th caller is served once the half-sent requests have timed out")
        let holder = holders[0]
        let timedOut = await onOwnThread { Raw.readToEnd(holder) }
        #expect(timedOut.starts(with: Array("HTTP/1.1 408 Request Timeout\r\n".utf8)), "\(String(decoding: timedOut, as: UTF8.self))")
    }

    @Test func idleKeepAliveConnectionsMakeRoomForANewcomer() async throws {
        // A header deadline far beyond the test: only eviction can free a slot.
        let server = try Raw.okServer(headerDeadline: .seconds(600))
        defer { server.stop() }
        let holders = try Raw.hold(64, connectionsTo: server.port, sending: "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") { descriptor in
            let answer = try Raw.readResponse(descriptor)
            #expect(answer.starts(with: Array("HTTP/1.1 200 OK\r\n".utf8)))
        }
        defer { holders.forEach { close($0) } }

        let port = server.port
        let answer = try await onOwnThread { Result { try LoopbackClient.send(port: port, method: "GET", path: "/x") } }.get()

        #expect(answer.status == 200, "a newcomer is served when every slot holds an idle keep-alive connection")
        // Which one is longest idle is the server's view: a connection counts as idle once its thread
        // has sent the answer and marked it, which under load may come after the client's next request.
        let idle = holders
        #expect(await onOwnThread { Raw.oneClosedByPeer(idle) }, "an idle keep-alive connection was closed for it")
    }

    /// 64 callers each sending a 6 MB body one byte short: the old server read them all (520 MB
    /// resident); now at most two bodies are read at once and the others wait unread. Not under the
    /// sanitizers (scripts/test-sanitizers.sh sets SANITIZER), whose shadow memory is resident too.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SANITIZER"] == nil)) func manyLargeBodiesOneByteShortDoNotFillMemory() async throws {
        let port = try LoopbackClient.freePort()
        let process = try RuntimeEchoProcess(["--serve", String(port)])
        defer { process.kill() }
        try await Raw.waitUntil { (try? LoopbackClient.connect(port: port)).map { close($0) } != nil }
        let pid = process.process.processIdentifier
        let before = try #require(ProcessStatus.residentKiB(of: pid))

        let length = 6_000_000
        let head = Array("POST \(Self.invokePath) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(length)\r\n\r\n".utf8)
        let body = [UInt8](repeating: UInt8(ascii: " "), count: length - 1)
        let senders = (0..<64).map { _ in
            Task { await onOwnThread { Raw.sendUntilBlocked(head + body, port: port) } }
        }
        var descriptors: [Int32] = []
        for sender in senders { if let descriptor = await sender.value { descriptors.append(descriptor) } }
        defer { descriptors.forEach { close($0) } }
        #expect(descriptors.count == 64)
        // The server reads what it will read within moments; its peak is what counts.
        try await Task.sleep(for: .seconds(2))
        let peak = try #require(ProcessStatus.peakResidentKiB(of: pid))

        #expect(peak - before < 96 * 1024, "peak resident memory grew from \(before) KiB to \(peak) KiB")
        #expect(process.process.isRunning)
    }
}

/// Socket helpers for the tests above.
enum Raw {
    /// A server that answers `200 ok` to any request whose head arrives within `headerDeadline`.
    static func okServer(headerDeadline: Duration) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer(maximumBodySize: 1024, limits: .init(headerDeadline: headerDeadline)) { _ in
            HTTPResponse(status: 200, body: Array("ok".utf8))
        }
    }

    /// Opens `count` connections to `port`, one after the other, sends `request` on each and then
    /// runs `afterSending` on it; the connections, left open (all closed here if one fails).
    static func hold(
        _ count: Int, connectionsTo port: UInt16, sending request: String, afterSending: (Int32) throws -> Void = { _ in }
    ) throws -> [Int32] {
        var holders: [Int32] = []
        do {
            for _ in 0..<count {
                let descriptor = try LoopbackClient.connect(port: port)
                holders.append(descriptor)
                try send(Array(request.utf8), on: descriptor)
                try afterSending(descriptor)
            }
            return holders
        } catch {
            holders.forEach { close($0) }
            throw error
        }
    }

    static func send(_ bytes: [UInt8], on descriptor: Int32) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw LoopbackClient.Failure(description: "send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
    }

    /// Connects and sends until done or until the peer has stopped reading for 3 s; the open socket.
    static func sendUntilBlocked(_ bytes: [UInt8], port: UInt16) -> Int32? {
        guard let descriptor = try? LoopbackClient.connect(port: port) else { return nil }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A blocking send returns early only when the timeout struck: the peer has stopped reading.
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return descriptor
    }

    /// Everything until the peer closes (30 s at most).
    static func readToEnd(_ descriptor: Int32) -> [UInt8] {
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return received }
            received += chunk[..<count]
        }
    }

    /// Whether the peer closes one of `descriptors` without sending anything on it (30 s at most):
    /// a timeout is not a close, so a server that keeps every connection open fails this.
    static func oneClosedByPeer(_ descriptors: [Int32]) -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        var watched = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while !watched.isEmpty, case let remaining = ContinuousClock.now.duration(to: deadline), remaining > .zero {
            let ready = poll(&watched, nfds_t(watched.count), Int32(remaining.components.seconds * 1000 + 1))
            guard ready > 0 else { continue }
            for entry in watched where entry.revents != 0 {
                var byte: UInt8 = 0
                let count = recv(entry.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                if count == 0 || (count < 0 && errno == ECONNRESET) { return true }
            }
            // Readable but not closed (the server sent something): no longer a candidate.
            watched.removeAll { $0.revents != 0 }
        }
        return false
    }

    /// One response whose body is `ok` (the servers above answer nothing else).
    static func readResponse(_ descriptor: Int32) throws -> [UInt8] {
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !received.reversed().starts(with: Array("ko\n\r\n\r".utf8)) {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw LoopbackClient.Failure(description: "connection ended") }
            received += chunk[..<count]
        }
        return received
    }

    /// Polls `condition` (30 s at most).
    static func waitUntil(_ condition: @escaping @Sendable () -> Bool) async throws {
        var met = condition()
        var attempts = 0
        while !met && attempts < 1500 {
            try await Task.sleep(for: .milliseconds(20))
            met = condition()
            attempts += 1
        }
        #expect(met)
    }
}
