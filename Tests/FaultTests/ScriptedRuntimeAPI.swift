import Foundation
import Synchronization

/// A Runtime API on loopback that the fault tests script from outside the function's process:
/// queue an invocation, then wait for its answer. `/next` blocks while nothing is queued, as it
/// does on Lambda between invocations. It can also answer `/next` with a 500, and it records
/// `/runtime/init/error` posts.
///
/// Deliberately small: one thread per connection, blocking sockets, `Content-Length` bodies only
/// (what a libcurl runtime sends); anything else is answered 400 so a runtime change shows up.
final class ScriptedRuntimeAPI: Sendable {
    struct ListenFailure: Error {
        let errno: Int32
    }

    struct Answer: Sendable {
        enum Kind: Sendable, Equatable { case response, error }
        let kind: Kind
        let body: [UInt8]
        /// `Lambda-Runtime-Function-Error-Type` of an error post.
        let errorType: String?
        /// When the body was fully read, to check answers arrive before deadlines.
        let receivedAt: ContinuousClock.Instant

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private struct Invocation {
        let requestID: String
        let event: [UInt8]
        let deadlineEpochMilliseconds: Int64
    }

    private struct State {
        var queued: [Invocation] = []
        var answers: [String: Answer] = [:]
        var initErrors: [Answer] = []
        var nextCount = 0
        var failNextWith500 = false
        var stopped = false
        var connections: Set<Int32> = []
        var invocationCount = 0
    }

    let port: Int
    var address: String { "127.0.0.1:\(port)" }
    private let listener: Int32
    private let state = Mutex(State())
    /// Wakes `/next` handlers and answer waiters when `state` changes (see `waitUntil`).
    private let changed = NSCondition()

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard listener >= 0, bound, listen(listener, 16) == 0 else {
            throw ListenFailure(errno: errno)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Closes the listener and every connection; blocked `/next` handlers return.
    /// Idempotent: a second close of the listener could close a descriptor reused by then.
    func stop() {
        // Under the lock: a connection's thread leaves the set before it closes its descriptor, so
        // every descriptor shut down here is still the connection's own.
        let wasRunning = state.withLock { state in
            guard !state.stopped else { return false }
            state.stopped = true
            for connection in state.connections { shutdown(connection, Int32(SHUT_RDWR)) }
            return true
        }
        guard wasRunning else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        signalChange()
    }

    deinit {
        stop()
    }

    /// Queues one invocation; the function receives it on its next `/next`. Returns the request id.
    @discardableResult
    func invoke(_ event: String, deadlineIn: Duration = .seconds(30)) -> String {
        let milliseconds = deadlineIn.components.seconds * 1000 + deadlineIn.components.attoseconds / 1_000_000_000_000_000
        let deadline = Int64(Date().timeIntervalSince1970 * 1000) + milliseconds
        let requestID = state.withLock { state in
            state.invocationCount += 1
            let requestID = "fault-\(state.invocationCount)-\(UUID().uuidString.prefix(8))"
            state.queued.append(Invocation(requestID: requestID, event: Array(event.utf8), deadlineEpochMilliseconds: deadline))
            return requestID
        }
        signalChange()
        return requestID
    }

    /// The answer to `requestID`, waiting up to `timeout`.
    func answer(to requestID: String, timeout: Duration) -> Answer? {
        waitUntil(timeout: timeout) { $0.answers[requestID] }
    }

    /// Invokes and waits for the answer.
    func call(_ event: String, timeout: Duration = .seconds(10)) -> Answer? {
        answer(to: invoke(event), timeout: timeout)
    }

    /// From now on `/next` answers 500 (the runtime must exit at once).
    func failNextRequestsWith500() {
        state.withLock { $0.failNextWith500 = true }
        signalChange()
    }

    /// The first `/runtime/init/error` post, waiting up to `timeout`.
    func initError(timeout: Duration) -> Answer? {
        waitUntil(timeout: timeout) { $0.initErrors.first }
    }

    /// Waits until the function has asked for `/next` at least `count` times (it is idle then).
    func waitForNextRequests(_ count: Int, timeout: Duration) -> Bool {
        waitUntil(timeout: timeout) { $0.nextCount >= count ? true : nil } ?? false
    }

    /// Polls `probe` under `changed`'s lock: `signalChange` broadcasts under the same lock, so a
    /// change made between a probe and the wait that follows it still wakes the waiter.
    private func waitUntil<T>(timeout: Duration, _ probe: (State) -> T?) -> T? {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let deadline = Date().addingTimeInterval(seconds)
        changed.lock()
        defer { changed.unlock() }
        while true {
            if let value = state.withLock({ probe($0) }) { return value }
            guard changed.wait(until: deadline) else { return state.withLock { probe($0) } }
        }
    }

    private func signalChange() {
        changed.lock()
        changed.broadcast()
        changed.unlock()
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                if errno == EINTR { continue }
                return
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            var yes: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let accepted = state.withLock { state in
                if !state.stopped { state.connections.insert(connection) }
                return !state.stopped
            }
            guard accepted else {
                close(connection)
                return
            }
            let thread = Thread { [self] in
                serve(connection)
                state.withLock { _ = $0.connections.remove(connection) }
                close(connection)
            }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        var reader = RequestReader(descriptor: connection)
        while let request = reader.next() {
            guard respond(to: request, on: connection) else { return }
        }
    }

    /// Answers one request; false when the connection should close.
    private func respond(to request: HTTPRequest, on connection: Int32) -> Bool {
        let invocationPrefix = "/2018-06-01/runtime/invocation/"
        if request.method == "GET", request.path == invocationPrefix + "next" {
            return serveNext(on: connection)
        }
        if request.method == "POST", request.path == "/2018-06-01/runtime/init/error" {
            let answer = Answer(kind: .error, body: request.body, errorType: request.header("lambda-runtime-function-error-type"), receivedAt: .now)
            state.withLock { $0.initErrors.append(answer) }
            signalChange()
            return write(status: "202 Accepted", headers: [], body: Array(#"{"status":"OK"}"#.utf8), to: connection)
        }
        if request.method == "POST", request.path.hasPrefix(invocationPrefix) {
            let parts = request.path.dropFirst(invocationPrefix.count).split(separator: "/")
            if parts.count == 2, parts[1] == "response" || parts[1] == "error" {
                let answer = Answer(
                    kind: parts[1] == "response" ? .response : .error, body: request.body,
                    errorType: request.header("lambda-runtime-function-error-type"), receivedAt: .now)
                let known = state.withLock { state in
                    guard state.answers[String(parts[0])] == nil else { return false }
                    state.answers[String(parts[0])] = answer
                    return true
                }
                signalChange()
                return known
                    ? write(status: "202 Accepted", headers: [], body: Array(#"{"status":"OK"}"#.utf8), to: connection)
                    : write(status: "400 Bad Request", headers: [], body: Array(#"{"errorMessage":"answered twice"}"#.utf8), to: connection)
            }
        }
        return write(status: "404 Not Found", headers: [], body: [], to: connection)
    }

    private func serveNext(on connection: Int32) -> Bool {
        state.withLock { $0.nextCount += 1 }
        signalChange()
        enum Step { case serve(Invocation), fail, stop }
        let step: Step = waitUntil(timeout: .seconds(3600)) { state in
            if state.stopped { return .stop }
            if state.failNextWith500 { return .fail }
            return state.queued.first.map(Step.serve)
        } ?? .stop
        switch step {
        case .stop:
            return false
        case .fail:
            return write(status: "500 Internal Server Error", headers: [], body: Array(#"{"errorMessage":"scripted"}"#.utf8), to: connection)
        case .serve(let invocation):
            state.withLock { state in state.queued.removeAll { $0.requestID == invocation.requestID } }
            return write(status: "200 OK", headers: [
                ("Lambda-Runtime-Aws-Request-Id", invocation.requestID),
                ("Lambda-Runtime-Deadline-Ms", String(invocation.deadlineEpochMilliseconds)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:fault"),
            ], body: invocation.event, to: connection)
        }
    }

    private func write(status: String, headers: [(String, String)], body: [UInt8], to connection: Int32) -> Bool {
        var head = "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + body
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }
}

struct HTTPRequest {
    let method: String
    let path: String
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }
}

/// Reads requests one after another from a keep-alive connection.
struct RequestReader {
    let descriptor: Int32
    private var buffer: [UInt8] = []

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// The next request; nil on end of stream or a request this server does not handle.
    mutating func next() -> HTTPRequest? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffer.indices.dropLast(3).first { buffer[$0..<$0 + 4].elementsEqual(separator) }
            if headEnd == nil, !fill() { return nil }
        }
        guard let headEnd else { return nil }
        let lines = String(decoding: buffer[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" }) { return nil }
        let length = Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
        let bodyStart = headEnd + 4
        while buffer.count < bodyStart + length {
            if !fill() { return nil }
        }
        let request = HTTPRequest(
            method: String(requestLine[0]), path: String(requestLine[1]), headers: headers,
            body: Array(buffer[bodyStart..<bodyStart + length]))
        buffer.removeFirst(bodyStart + length)
        return request
    }

    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }
}
