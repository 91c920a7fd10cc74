import CCurl

/// How far the head of a Runtime API answer got, one header line at a time, as libcurl hands the
/// lines over: enough to tell a head that could not be read (an oversized header) from a connection
/// that broke, and to name the header. Pure.
///
/// Lambda's own headers are small (a client context is at most 3,583 bytes), but a Runtime API
/// under test or a broken proxy may send anything; such an invocation must fail alone, with an
/// error that says which header, not end the process with libcurl's bare "Out of memory".
struct ResponseHead: Equatable {
    /// The longest header line the runtime takes. Below libcurl's own limit, so that a header
    /// between the two is named with its exact size.
    static let largestHeaderLine = 64 * 1024
    /// The most header bytes the runtime takes for one answer, all lines together. Below libcurl's
    /// own total (300 KiB, which it checks only after the header callback has seen a line): so the
    /// runtime, not libcurl, refuses such a head, and names the header that crossed the limit.
    static let largestHead = 256 * 1024
    /// libcurl refuses a header line of this many bytes or more itself (`CURL_MAX_HTTP_HEADER` of the
    /// libcurl linked: 100 KiB stock, 1 MiB in the packaged bootstrap), before the runtime sees any
    /// of it, so such a header can be placed (after which header) but not named.
    static let libcurlHeaderLineLimit = Int(ccurl_max_header_line())

    /// Why the runtime stopped reading the head.
    enum Refusal: Equatable {
        /// One line over `largestHeaderLine`.
        case line(name: String, size: Int)
        /// All lines so far over `largestHead`; `at` is the header that crossed it.
        case head(size: Int, at: String)
    }

    private(set) var statusLineSeen = false
    private(set) var complete = false
    /// Kept as bytes, reusing one buffer: this runs for every header line of every invocation.
    private(set) var lastHeaderName: [UInt8] = []
    private(set) var refusal: Refusal?
    /// Every line counts, interim (1xx) heads included, as libcurl counts them for its own total.
    private(set) var headBytes = 0

    private static let statusLinePrefix = Array("HTTP/".utf8)

    /// Takes one raw header line; false when the answer must not be read further.
    mutating func consume(line: UnsafeBufferPointer<UInt8>) -> Bool {
        headBytes += line.count
        if line.starts(with: Self.statusLinePrefix) {
            // A new response (after an interim 100 Continue): start again.
            statusLineSeen = true
            complete = false
            lastHeaderName.removeAll(keepingCapacity: true)
            refusal = nil
            return true
        }
        if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            complete = true
            return true
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = line[line.startIndex..<min(colon, line.startIndex + 128)]
        if line.count > Self.largestHeaderLine {
            refusal = .line(name: String(decoding: name, as: UTF8.self), size: line.count)
            return false
        }
        if headBytes > Self.largestHead {
            refusal = .head(size: headBytes, at: String(decoding: name, as: UTF8.self))
            return false
        }
        lastHeaderName.removeAll(keepingCapacity: true)
        lastHeaderName.append(contentsOf: name)
        return true
    }

    /// Why the answer could not be read, when the exchange failed while its head was being read
    /// because of a header: one the runtime refused (`refusal`), or one libcurl refused
    /// (`refusedByLibcurl`, its "out of memory" for a header line over its limit). Nil otherwise
    /// (a connection that broke is not this).
    func unreadable(endpoint: String, refusedByLibcurl: Bool) -> RuntimeError? {
        guard statusLineSeen, !complete else { return nil }
        switch refusal {
        case .line(let name, let size):
            return .headerTooLarge(endpoint: endpoint, name: name, size: size, limit: Self.largestHeaderLine)
        case .head(let size, let name):
            return .headersTooLarge(endpoint: endpoint, size: size, at: name, limit: Self.largestHead)
        case nil:
            guard refusedByLibcurl else { return nil }
            let after = lastHeaderName.isEmpty ? nil : String(decoding: lastHeaderName, as: UTF8.self)
            return .headerOverLibcurlLimit(endpoint: endpoint, after: after, limit: Self.libcurlHeaderLineLimit)
        }
    }
}
