import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Lambda Runtime API, version 2018-06-01: paths (relative to `http://$AWS_LAMBDA_RUNTIME_API`)
/// and header names. The local Runtime API serves the same constants.
enum RuntimeAPI {
    static let nextInvocationPath = "/2018-06-01/runtime/invocation/next"
    static let invocationPathPrefix = "/2018-06-01/runtime/invocation/"
    static let responsePathSuffix = "/response"
    static let errorPathSuffix = "/error"
    static let initErrorPath = "/2018-06-01/runtime/init/error"

    enum Header {
        static let requestID = "Lambda-Runtime-Aws-Request-Id"
        static let deadline = "Lambda-Runtime-Deadline-Ms"
        static let invokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
        static let traceID = "Lambda-Runtime-Trace-Id"
        static let clientContext = "Lambda-Runtime-Client-Context"
        static let cognitoIdentity = "Lambda-Runtime-Cognito-Identity"
        static let tenantID = "Lambda-Runtime-Aws-Tenant-Id"
        static let functionErrorType = "Lambda-Runtime-Function-Error-Type"
    }

    /// One token, as the Runtime API asks.
    static let userAgent = "swift-lambda-runtime/1.0"
    /// Lambda reads the response as JSON; the Runtime API wants the type stated.
    static let responseContentType = "Content-Type: application/json"
    /// An empty `Expect:` stops libcurl from sending `Expect: 100-continue` for bodies over 1 MB
    /// and then waiting for an interim answer the Runtime API never needs to give.
    static let noExpectation = "Expect:"

    /// Lambda's request ids are UUIDs; anything else than letters, digits, `-`, `_` and `~` is
    /// percent-encoded so that an odd id still names the same invocation and can never break the
    /// request line. Dots too: libcurl would collapse an id `..` out of the path.
    static func pathComponent(_ requestID: String) -> String {
        // The usual case, a UUID, is used as it is, without building a copy.
        guard !requestID.utf8.allSatisfy(isUnreserved) else { return requestID }
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(requestID.utf8.count * 3)
        for byte in requestID.utf8 {
            if isUnreserved(byte) {
                encoded.append(byte)
            } else {
                encoded.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}

extension RuntimeAPI {
    /// The inverse of `pathComponent`, for the local Runtime API; nil for a malformed escape.
    static func requestID(fromPathComponent component: Substring) -> String? {
        var decoded: [UInt8] = []
        var bytes = component.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else { return nil }
            decoded.append(high << 4 | low)
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// How one exchange with the Runtime API ended.
enum RuntimeAPIReply: Equatable {
    /// A complete HTTP response with this status.
    case status(Int)
    /// No complete response. `receivedResponseBytes` tells a refused or reset connection (safe to
    /// retry a `/next`) from one that broke in the middle of an answer.
    case transportFailure(detail: String, receivedResponseBytes: Bool)
    /// The answer's head could not be read because of a header (see `ResponseHead`); the
    /// connection is closed, the process is sound.
    case unreadableHead(RuntimeError)
}

/// What libcurl's callbacks fill in during one exchange.
private final class Exchange {
    var headers = InvocationHeaders()
    var head = ResponseHead()
    var body: [UInt8] = []
    var receivedResponseBytes = false

    func reset() {
        headers = InvocationHeaders()
        head = ResponseHead()
        body = []
        receivedResponseBytes = false
    }
}

private let collectHeaderLine: ccurl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata, let buffer else { return 0 }
    let exchange = Unmanaged<Exchange>.fromOpaque(userdata).takeUnretainedValue()
    exchange.receivedResponseBytes = true
    let accepted = buffer.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        let line = UnsafeBufferPointer(start: bytes, count: length)
        guard exchange.head.consume(line: line) else { return false }
        exchange.headers.consume(line: line)
        return true
    }
    // Anything but `length` makes libcurl stop the transfer (CURLE_WRITE_ERROR).
    guard accepted else { return 0 }
    if let expected = exchange.headers.contentLength, exchange.body.isEmpty, expected <= RuntimeAPIClient.largestExpectedBody {
        exchange.body.reserveCapacity(expected)
    }
    return length
}

private let collectBody: ccurl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata, let buffer else { return 0 }
    let exchange = Unmanaged<Exchange>.fromOpaque(userdata).takeUnretainedValue()
    buffer.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        exchange.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    }
    return length
}

/// The Runtime API over libcurl: one easy handle for the process, so the connection to the
/// Runtime API stays open between invocations (keep-alive) and no handle, header list or URL
/// prefix is built on the hot path. Used from one thread.
final class RuntimeAPIClient {
    /// Lambda's payload limit is 6 MB; a larger Content-Length is not trusted for pre-allocation.
    static let largestExpectedBody = 6 * 1024 * 1024 + 1024

    private let handle: UnsafeMutableRawPointer
    private let baseURL: String
    private let nextURL: String
    private let initErrorURL: String
    /// `Content-Type` and the empty `Expect:`, built once.
    private let postHeaders: UnsafeMutablePointer<curl_slist>
    /// `postHeaders` plus one error-type header, per error type seen (the types are a small closed set).
    private var errorHeaders: [String: UnsafeMutablePointer<curl_slist>] = [:]
    private let exchange = Exchange()
    private let errorText: UnsafeMutablePointer<CChar>
    /// Stands in for an empty body: given no pointer at all, libcurl would read the body from its
    /// read callback, which defaults to stdin.
    private let emptyBody: UnsafeMutablePointer<UInt8>

    /// `address` is `AWS_LAMBDA_RUNTIME_API`: `host:port`, no scheme. No network I/O happens here.
    init(address: String) throws(RuntimeError) {
        // The Runtime API is plain HTTP on loopback: no TLS to set up, which spares the cold start
        // OpenSSL's initialisation (configuration files, several MB of resident memory).
        guard curl_global_init(Int(CURL_GLOBAL_NOTHING)) == CURLE_OK, let handle = curl_easy_init() else {
            throw .clientSetupFailed("libcurl could not be initialised")
        }
        guard let list = RuntimeAPIClient.headerList([RuntimeAPI.responseContentType, RuntimeAPI.noExpectation]) else {
            curl_easy_cleanup(handle)
            throw .clientSetupFailed("libcurl could not allocate a header list")
        }
        self.handle = handle
        self.postHeaders = list
        self.baseURL = "http://\(address)"
        self.nextURL = baseURL + RuntimeAPI.nextInvocationPath
        self.initErrorURL = baseURL + RuntimeAPI.initErrorPath
        self.errorText = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorText.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        self.emptyBody = .allocate(capacity: 1)
        emptyBody.initialize(to: 0)
        configureConnection()
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(postHeaders)
        for list in errorHeaders.values { curl_slist_free_all(list) }
        errorText.deallocate()
        emptyBody.deallocate()
    }

    /// Options that hold for every request; set once, never reset (a reset would also be harmless
    /// for the connection, but would cost a dozen calls per request).
    private func configureConnection() {
        // No total timeout, on `/next` above all: Lambda freezes the process between invocations,
        // for seconds or for hours, and a timer running across a freeze fires right after the thaw
        // and fails a healthy poll. Lambda itself enforces every invocation's deadline.
        _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, 0)
        // The Runtime API is on the same host: a connection that takes longer than this is not coming.
        _ = ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 1000)
        // Signals are how libcurl would time out name resolution; they are unsafe with threads.
        _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        // Small requests and answers: Nagle's algorithm would only add delay.
        _ = ccurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
        _ = ccurl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        // The Runtime API is local: HTTP_PROXY and friends set for the function must not apply.
        _ = ccurl_setopt_string(handle, CURLOPT_PROXY, "")
        _ = ccurl_setopt_string(handle, CURLOPT_USERAGENT, RuntimeAPI.userAgent)
        _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorText)
        let exchangePointer = Unmanaged.passUnretained(exchange).toOpaque()
        _ = ccurl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, collectHeaderLine)
        _ = ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, exchangePointer)
        _ = ccurl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, collectBody)
        _ = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, exchangePointer)
    }

    /// `GET /runtime/invocation/next`: blocks until Lambda has an event.
    func nextInvocation() -> (reply: RuntimeAPIReply, headers: InvocationHeaders, event: [UInt8]) {
        exchange.reset()
        _ = ccurl_setopt_string(handle, CURLOPT_URL, nextURL)
        _ = ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, nil)
        let reply = perform(endpoint: StatusPolicy.nextEndpoint)
        let event = exchange.body
        exchange.body = []
        return (reply, exchange.headers, event)
    }

    /// `POST /runtime/invocation/{id}/response`.
    func postResponse(requestID: String, body: [UInt8]) -> RuntimeAPIReply {
        post(to: invocationURL(requestID, RuntimeAPI.responsePathSuffix), body: body, headers: postHeaders)
    }

    /// `POST /runtime/invocation/{id}/error`.
    func postError(requestID: String, error: FunctionError) -> RuntimeAPIReply {
        postFailure(to: invocationURL(requestID, RuntimeAPI.errorPathSuffix), error: error)
    }

    /// `POST /runtime/init/error`.
    func postInitError(_ error: FunctionError) -> RuntimeAPIReply {
        postFailure(to: initErrorURL, error: error)
    }

    private func invocationURL(_ requestID: String, _ suffix: String) -> String {
        baseURL + RuntimeAPI.invocationPathPrefix + RuntimeAPI.pathComponent(requestID) + suffix
    }

    private func postFailure(to url: String, error: FunctionError) -> RuntimeAPIReply {
        let type = error.wireErrorType
        guard let headers = errorHeaders[type] ?? makeErrorHeaders(type) else {
            return .transportFailure(detail: "libcurl could not allocate a header list", receivedResponseBytes: false)
        }
        return post(to: url, body: error.jsonPayload, headers: headers)
    }

    private func makeErrorHeaders(_ type: String) -> UnsafeMutablePointer<curl_slist>? {
        let list = RuntimeAPIClient.headerList([
            RuntimeAPI.responseContentType, RuntimeAPI.noExpectation, "\(RuntimeAPI.Header.functionErrorType): \(type)",
        ])
        errorHeaders[type] = list
        return list
    }

    private func post(to url: String, body: [UInt8], headers: UnsafeMutablePointer<curl_slist>) -> RuntimeAPIReply {
        exchange.reset()
        _ = ccurl_setopt_string(handle, CURLOPT_URL, url)
        _ = ccurl_setopt_long(handle, CURLOPT_POST, 1)
        _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
        return body.withUnsafeBytes { bytes in
            // libcurl reads the body from this pointer during `perform` only; it stays valid until then.
            _ = ccurl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            let fields = bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? UnsafeMutableRawPointer(emptyBody)
            _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, fields)
            let reply = perform(endpoint: url)
            _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
            return reply
        }
    }

    private func perform(endpoint: String) -> RuntimeAPIReply {
        errorText[0] = 0
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let detail = errorText[0] != 0 ? String(cString: errorText) : String(cString: curl_easy_strerror(code))
            // libcurl refuses a header line over its limit with "out of memory" (7.x) or a
            // "too large response headers" error (8.x).
            let refusedByLibcurl = code == CURLE_OUT_OF_MEMORY || detail.lowercased().contains("header")
            if let failure = exchange.head.unreadable(endpoint: endpoint, refusedByLibcurl: refusedByLibcurl) {
                return .unreadableHead(failure)
            }
            return .transportFailure(detail: detail, receivedResponseBytes: exchange.receivedResponseBytes)
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .status(status)
    }

    private static func headerList(_ lines: [String]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let extended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                return nil
            }
            list = extended
        }
        return list
    }
}
