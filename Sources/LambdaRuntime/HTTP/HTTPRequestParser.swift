/// Why a request could not be read; each maps to the status the server answers before closing.
enum HTTPParseError: Error, Equatable {
    case malformedRequestLine
    case malformedHeader
    case unsupportedVersion
    case headTooLarge
    case invalidContentLength
    /// Only `Content-Length` bodies are read (curl, SDKs and the runtime all send one).
    case unsupportedTransferEncoding
    case bodyTooLarge

    var status: Int {
        switch self {
        case .malformedRequestLine, .malformedHeader, .invalidContentLength: 400
        case .unsupportedVersion: 505
        case .headTooLarge: 431
        case .unsupportedTransferEncoding: 501
        case .bodyTooLarge: 413
        }
    }
}

/// An incremental HTTP/1.0 and 1.1 request reader: bytes in, complete requests out. Pure (no
/// sockets), so every byte-level rule is testable on its own.
struct HTTPRequestParser {
    enum Progress: Equatable {
        /// `expectsContinue`: the head is in, asked for `100 Continue`, and the body is still to come.
        case needsMoreData(expectsContinue: Bool)
        case request(HTTPRequest)
    }

    private struct Head {
        let method: String
        let target: String
        let headers: [HTTPHeader]
        let bodyLength: Int
        let keepAlive: Bool
        let expectsContinue: Bool
    }

    let maximumHeadSize: Int
    let maximumBodySize: Int
    private let maximumHeaderCount = 100
    private var buffer: [UInt8] = []
    /// The head of the request whose body is still arriving, and where that body starts.
    private var pending: (head: Head, bodyStart: Int)?

    init(maximumHeadSize: Int = 16 * 1024, maximumBodySize: Int) {
        self.maximumHeadSize = maximumHeadSize
        self.maximumBodySize = maximumBodySize
    }

    /// Bytes of a request not yet returned (a head in progress, a body arriving, a pipelined request).
    var hasBufferedBytes: Bool { !buffer.isEmpty || pending != nil }

    /// The Content-Length of the request whose head is read and whose body is still arriving.
    var pendingBodyLength: Int? { pending?.head.bodyLength }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, if the buffer holds one; bytes after it stay for the next call
    /// (pipelined requests). After an error the connection must be closed.
    mutating func next() throws(HTTPParseError) -> Progress {
        if pending == nil {
            skipLeadingEmptyLines()
            guard let headEnd = headEnd() else {
                if buffer.count > maximumHeadSize { throw .headTooLarge }
                return .needsMoreData(expectsContinue: false)
            }
            pending = (try parseHead(buffer[..<headEnd]), headEnd + 4)
        }
        guard let (head, bodyStart) = pending else { return .needsMoreData(expectsContinue: false) }
        let bodyEnd = bodyStart + head.bodyLength
        guard buffer.count >= bodyEnd else {
            return .needsMoreData(expectsContinue: head.expectsContinue)
        }
        let request = HTTPRequest(
            method: head.method, target: head.target, headers: head.headers,
            body: Array(buffer[bodyStart..<bodyEnd]), keepAlive: head.keepAlive
        )
        // A fresh buffer rather than removeFirst, which would keep the capacity of the largest
        // body this connection ever carried for as long as it stays open.
        buffer = buffer.count > bodyEnd ? Array(buffer[bodyEnd...]) : []
        pending = nil
        return .request(request)
    }

    /// RFC 9112 §2.2: a server should ignore empty lines before a request line.
    private mutating func skipLeadingEmptyLines() {
        let blank = buffer.prefix { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }.count
        if blank > 0 { buffer.removeFirst(blank) }
    }

    /// Index of the `\r\n\r\n` ending the head, looked for within the size limit only.
    private func headEnd() -> Int? {
        let searchable = min(buffer.count, maximumHeadSize + 4)
        guard searchable >= 4 else { return nil }
        for index in 0...(searchable - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func parseHead(_ head: ArraySlice<UInt8>) throws(HTTPParseError) -> Head {
        let lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        guard let requestLine = lines.first else { throw .malformedRequestLine }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte),
            !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw .malformedRequestLine
        }
        let isHTTP11: Bool
        switch String(decoding: parts[2], as: UTF8.self) {
        case "HTTP/1.1": isHTTP11 = true
        case "HTTP/1.0": isHTTP11 = false
        default: throw .unsupportedVersion
        }

        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            guard headers.count < maximumHeaderCount else { throw .headTooLarge }
            // No whitespace before the colon, no obsolete line folding (RFC 9112 §5.1, §5.2).
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy(Self.isTokenByte)
            else {
                throw .malformedHeader
            }
            let value = line[(colon + 1)...]
            let isPadding: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            let valueStart = value.firstIndex { !isPadding($0) } ?? value.endIndex
            let valueEnd = value.lastIndex { !isPadding($0) }.map { $0 + 1 } ?? valueStart
            let trimmedValue = value[valueStart..<valueEnd]
            headers.append(
                HTTPHeader(
                    String(decoding: line[line.startIndex..<colon], as: UTF8.self),
                    String(decoding: trimmedValue, as: UTF8.self)
                ))
        }

        let lengths = Set(headers.filter { $0.name.lowercased() == "content-length" }.map(\.value))
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" }) {
            throw .unsupportedTransferEncoding
        }
        var bodyLength = 0
        if let length = lengths.first {
            guard lengths.count == 1, !length.isEmpty, length.utf8.count <= 18,
                length.utf8.allSatisfy({ (48...57).contains($0) }), let parsed = Int(length)
            else {
                throw .invalidContentLength
            }
            guard parsed <= maximumBodySize else { throw .bodyTooLarge }
            bodyLength = parsed
        }

        let connection = headers.first { $0.name.lowercased() == "connection" }?.value.lowercased() ?? ""
        // Connection options are tokens: dropping every space and tab leaves them intact.
        let connectionOptions = connection.split(separator: ",").map { $0.filter { $0 != " " && $0 != "\t" } }
        let keepAlive = isHTTP11 ? !connectionOptions.contains("close") : connectionOptions.contains("keep-alive")
        let expectation = headers.first { $0.name.lowercased() == "expect" }?.value.lowercased()
        return Head(
            method: String(decoding: parts[0], as: UTF8.self),
            target: String(decoding: parts[1], as: UTF8.self),
            headers: headers,
            bodyLength: bodyLength,
            keepAlive: keepAlive,
            expectsContinue: isHTTP11 && expectation == "100-continue" && bodyLength > 0
        )
    }

    /// RFC 9110 §5.6.2 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
