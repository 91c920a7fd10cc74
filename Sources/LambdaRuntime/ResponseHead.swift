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
    /// libcurl refuses a longer header line itself (`CURL_MAX_HTTP_HEADER`), before the runtime
    /// sees any of it, so such a header can be placed (after which header) but not named.
    static let libcurlHeaderLineLimit = 100 * 1024

    struct Oversized: Equatable {
        let name: String
        let size: Int
    }

    private(set) var statusLineSeen = false
    private(set) var complete = false
    /// Kept as bytes, reusing one buffer: this runs for every header line of every invocation.
    private(set) var lastHeaderName: [UInt8] = []
    private(set) var oversized: Oversized?

    private static let statusLinePrefix = Array("HTTP/".utf8)

    /// Takes one raw header line; false when the answer must not be read further.
    mutating func consume(line: UnsafeBufferPointer<UInt8>) -> Bool {
        if line.starts(with: Self.statusLinePrefix) {
            // A new response (after an interim 100 Continue): start again.
            statusLineSeen = true
            complete = false
            lastHeaderName.removeAll(keepingCapacity: true)
            oversized = nil
            return true
        }
        if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            complete = true
            return true
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = line[line.startIndex..<min(colon, line.startIndex + 128)]
        if line.count > Self.largestHeaderLine {
            oversized = Oversized(name: String(decoding: name, as: UTF8.self), size: line.count)
            return false
        }
        lastHeaderName.removeAll(keepingCapacity: true)
        lastHeaderName.append(contentsOf: name)
        return true
    }

    /// Why the answer could not be read, when the exchange failed while its head was being read
    /// because of a header: one the runtime refused (`oversized`), or one libcurl refused
    /// (`refusedByLibcurl`, its "out of memory" for a header line over its limit). Nil otherwise
    /// (a connection that broke is not this).
    func unreadable(endpoint: String, refusedByLibcurl: Bool) -> RuntimeError? {
        guard statusLineSeen, !complete else { return nil }
        if let oversized {
            return .headerTooLarge(endpoint: endpoint, name: oversized.name, size: oversized.size, limit: Self.largestHeaderLine)
        }
        guard refusedByLibcurl else { return nil }
        let after = lastHeaderName.isEmpty ? nil : String(decoding: lastHeaderName, as: UTF8.self)
        return .headerOverLibcurlLimit(endpoint: endpoint, after: after, limit: Self.libcurlHeaderLineLimit)
    }
}
