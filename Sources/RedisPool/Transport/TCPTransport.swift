/// Plain TCP: the socket's operations as they are.
final class TCPTransport: Transport {
    private let socket: Socket

    init(socket: Socket) {
        self.socket = socket
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws(RedisError) {
        try socket.sendAll(bytes, deadline: deadline)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(RedisError) -> Int {
        try socket.receive(into: buffer, deadline: deadline)
    }

    func hasUnexpectedInput() -> Bool {
        socket.isReadableNow()
    }

    func close() {
        socket.close()
    }
}
