/// One open, authenticated connection: writes requests and reads their replies in order.
///
/// Any transport failure, timeout or protocol error marks the connection broken and closes it:
/// after such a failure the reply stream may be out of step with the requests, and a reused
/// connection would hand one command's reply to the next caller.
///
/// `@unchecked Sendable`: a connection is used by one thread at a time. The pool hands it over
/// under its lock, and a borrower never shares it.
final class RedisConnection: @unchecked Sendable {
    /// Why an exchange failed and whether the server may have run the request: the client may
    /// retry a request that never left without knowing whether it is idempotent.
    struct ExchangeFailure: Error {
        let error: RedisError
        let requestMayHaveRun: Bool
    }

    private let transport: any Transport
    private var parser: RESPParser
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)
    private(set) var isBroken = false
    /// When the connection last finished an exchange: a long idle means a `PING` before reuse.
    private(set) var lastUsed = ContinuousClock.now
    let endpointDescription: String

    init(transport: any Transport, endpointDescription: String, replyLimits: RESPParser.Limits = RESPParser.Limits()) {
        self.transport = transport
        self.endpointDescription = endpointDescription
        self.parser = RESPParser(limits: replyLimits)
    }

    deinit {
        transport.close()
        readBuffer.deallocate()
    }

    /// Why opening a connection failed, and how far it got.
    struct OpenFailure: Error {
        let error: RedisError
        /// The TCP connect succeeded: the failure came from the peer (TLS or the Redis handshake).
        let peerAccepted: Bool
        /// The server refused the user or the password (see `Handshake.Failure`).
        let credentialsRejected: Bool
    }

    /// Connects (DNS, TCP, TLS) and authenticates with `credentials`, all within `deadline`.
    static func open(
        configuration: RedisConfiguration,
        credentials: RedisCredentials,
        tlsContext: TLSContext?,
        deadline: Deadline
    ) throws(OpenFailure) -> RedisConnection {
        let socket: Socket
        do {
            socket = try Socket.connect(host: configuration.endpoint, port: configuration.port, deadline: deadline)
        } catch {
            throw OpenFailure(error: error, peerAccepted: false, credentialsRejected: false)
        }
        let transport: any Transport
        if let tlsContext {
            do {
                transport = try TLSTransport(socket: socket, context: tlsContext, serverName: configuration.serverName, deadline: deadline)
            } catch {
                throw OpenFailure(error: error, peerAccepted: true, credentialsRejected: false)
            }
        } else {
            transport = TCPTransport(socket: socket)
        }
        let connection = RedisConnection(
            transport: transport,
            endpointDescription: "\(configuration.endpoint):\(configuration.port)",
            replyLimits: configuration.replyLimits
        )
        do {
            try Handshake(credentials: credentials, clientName: configuration.clientName).perform(on: connection, deadline: deadline)
        } catch {
            throw OpenFailure(error: error.error, peerAccepted: true, credentialsRejected: error.credentialsRejected)
        }
        return connection
    }

    /// Writes all commands at once and reads exactly one reply per command, in order.
    func exchange(_ commands: [RedisCommand], deadline: Deadline) throws(ExchangeFailure) -> [RESPValue] {
        guard !isBroken else {
            throw ExchangeFailure(error: RedisError(.connectionClosed, "the connection was closed"), requestMayHaveRun: false)
        }
        do {
            try transport.write(RESPEncoder.encode(commands), deadline: deadline)
        } catch {
            markBroken()
            // A send that timed out may have delivered whole commands; one that failed outright
            // (reset, broken pipe) met a peer that had already gone and ran nothing.
            throw ExchangeFailure(error: error, requestMayHaveRun: error.kind != .connectionClosed)
        }
        return try replies(count: commands.count, deadline: deadline)
    }

    /// Writes each command as soon as `commandAt` makes it (from index 0 until it answers nil),
    /// without waiting for replies, then reads one reply per command, in order: the server runs
    /// the first commands while the caller is still making the next ones. Each write and the
    /// reading get a deadline of their own from `deadline` (the caller's own work between two
    /// writes is not the server's time).
    func exchange(streaming commandAt: (Int) -> RedisCommand?, deadline: () -> Deadline) throws(ExchangeFailure) -> [RESPValue] {
        guard !isBroken else {
            throw ExchangeFailure(error: RedisError(.connectionClosed, "the connection was closed"), requestMayHaveRun: false)
        }
        var sent = 0
        while let command = commandAt(sent) {
            do {
                try transport.write(RESPEncoder.encode([command]), deadline: deadline())
            } catch {
                markBroken()
                // The commands written before this one may have run (see `exchange(_:deadline:)`).
                throw ExchangeFailure(error: error, requestMayHaveRun: sent > 0 || error.kind != .connectionClosed)
            }
            sent += 1
        }
        return try replies(count: sent, deadline: deadline())
    }

    /// Exactly `count` replies, in order, for commands already written.
    private func replies(count: Int, deadline: Deadline) throws(ExchangeFailure) -> [RESPValue] {
        do {
            var replies: [RESPValue] = []
            replies.reserveCapacity(count)
            while replies.count < count {
                if let reply = try nextReply(deadline: deadline) {
                    replies.append(reply)
                }
            }
            lastUsed = .now
            return replies
        } catch {
            markBroken()
            throw ExchangeFailure(error: error, requestMayHaveRun: true)
        }
    }

    /// A parsed reply if one is buffered, else one read from the transport (nil if still partial).
    private func nextReply(deadline: Deadline) throws(RedisError) -> RESPValue? {
        do {
            if let reply = try parser.next() { return reply }
        } catch {
            throw RedisError(.protocolError, "invalid reply from \(endpointDescription): \(error.reason)")
        }
        let count = try transport.read(into: readBuffer, deadline: deadline)
        parser.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
        return nil
    }

    /// Bytes or an EOF arrived while nobody was waiting for a reply.
    func hasUnexpectedInput() -> Bool {
        !parser.isIdle || transport.hasUnexpectedInput()
    }

    func close() {
        markBroken()
    }

    private func markBroken() {
        guard !isBroken else { return }
        isBroken = true
        transport.close()
    }
}
