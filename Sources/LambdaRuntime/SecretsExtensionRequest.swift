import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What libcurl's callbacks collect for one request.
private final class ReceivedBody {
    var bytes: [UInt8] = []
    var overflowed = false
    /// `X-Amzn-ErrorType`, where AWS services name an error (short; longer values are dropped).
    var errorTypeHeader: String?
}

private let errorTypeHeaderName = Array(SecretsExtensionRefusal.errorTypeHeader.lowercased().utf8)

private let collectErrorTypeHeader: ccurl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata, let buffer else { return 0 }
    let body = Unmanaged<ReceivedBody>.fromOpaque(userdata).takeUnretainedValue()
    guard length > errorTypeHeaderName.count + 1, length <= 512 else { return length }
    buffer.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        let line = UnsafeBufferPointer(start: bytes, count: length)
        let name = line.prefix(errorTypeHeaderName.count)
        guard line[errorTypeHeaderName.count] == UInt8(ascii: ":"),
            zip(name, errorTypeHeaderName).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 })
        else { return }
        let value = line.dropFirst(errorTypeHeaderName.count + 1).filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        body.errorTypeHeader = String(decoding: value, as: UTF8.self).trimmingSpaces
    }
    return length
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

private let collectReceivedBody: ccurl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata, let buffer else { return 0 }
    let body = Unmanaged<ReceivedBody>.fromOpaque(userdata).takeUnretainedValue()
    guard body.bytes.count + length <= SecretsExtensionClient.largestExpectedBody else {
        body.overflowed = true
        return 0  // anything but `length` makes libcurl stop with CURLE_WRITE_ERROR
    }
    buffer.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        body.bytes.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    }
    return length
}

/// One `GET /secretsmanager/get` to the extension, over libcurl (the library the runtime already
/// links: no second HTTP stack in the binary).
struct SecretsExtensionRequest {
    struct Reply {
        let status: Int
        let body: [UInt8]
        let errorTypeHeader: String?
    }

    let port: UInt16
    let sessionToken: String
    let timeout: Duration

    func get(secretID: String) throws(SecretsExtensionError) -> Reply {
        guard curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK, let handle = curl_easy_init() else {
            throw SecretsExtensionError(.configuration, "libcurl could not be initialised")
        }
        defer { curl_easy_cleanup(handle) }
        guard let url = url(for: secretID, handle: handle),
            let headers = curl_slist_append(nil, "\(SecretsExtensionClient.tokenHeader): \(sessionToken)")
        else {
            throw SecretsExtensionError(.configuration, "libcurl could not allocate the request")
        }
        defer { curl_slist_free_all(headers) }

        let body = ReceivedBody()
        _ = ccurl_setopt_string(handle, CURLOPT_URL, url)
        _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
        // The extension is on this host: HTTP_PROXY and friends set for the function must not apply.
        _ = ccurl_setopt_string(handle, CURLOPT_PROXY, "")
        // Signals are how libcurl would time out name resolution; they are unsafe with threads.
        _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, collectReceivedBody)
        _ = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(body).toOpaque())
        _ = ccurl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, collectErrorTypeHeader)
        _ = ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(body).toOpaque())

        let code = performRetryingRefusals(handle, deadline: ContinuousClock.now + timeout)
        switch code {
        case CURLE_OK:
            var status = 0
            _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return Reply(status: status, body: body.bytes, errorTypeHeader: body.errorTypeHeader)
        case CURLE_WRITE_ERROR where body.overflowed:
            throw SecretsExtensionError(
                .invalidResponse, "the secrets extension's answer for secret \(secretID) is larger than \(SecretsExtensionClient.largestExpectedBody) bytes")
        case CURLE_OPERATION_TIMEDOUT:
            throw SecretsExtensionError(.timeout, "the secrets extension on port \(port) did not answer for secret \(secretID) within \(timeout)")
        case CURLE_COULDNT_CONNECT:
            throw SecretsExtensionError(
                .unreachable, "nothing answers on port \(port): is the AWS Parameters and Secrets Lambda Extension layer attached to the function?")
        default:
            throw SecretsExtensionError(
                .unreachable, "the request to the secrets extension on port \(port) failed: \(String(cString: curl_easy_strerror(code)))")
        }
    }

    /// `http://localhost:PORT/secretsmanager/get?secretId=…`, the id percent-encoded by libcurl
    /// (ARNs hold `:` and `/`, names may hold `+` and `=`).
    private func url(for secretID: String, handle: UnsafeMutableRawPointer) -> String? {
        guard let escaped = curl_easy_escape(handle, secretID, Int32(secretID.utf8.count)) else { return nil }
        defer { curl_free(escaped) }
        return "http://localhost:\(port)/secretsmanager/get?secretId=\(String(cString: escaped))"
    }

    /// Lambda starts the runtime once the extensions have registered, not once their HTTP servers
    /// listen: a refused connection at cold start means "not yet", so it is retried until the
    /// deadline. Every other outcome is final.
    ///
    /// When the pause after a refusal overruns the deadline (a loaded machine sleeps late), the
    /// outcome is still the refusal: "nothing answers" must not turn into "timed out".
    private func performRetryingRefusals(_ handle: UnsafeMutableRawPointer, deadline: ContinuousClock.Instant) -> CURLcode {
        var lastCode = CURLE_OPERATION_TIMEDOUT
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return lastCode }
            _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Self.milliseconds(remaining)))
            let code = curl_easy_perform(handle)
            lastCode = code
            guard code == CURLE_COULDNT_CONNECT, ContinuousClock.now + Self.refusalRetryPause < deadline else { return code }
            usleep(UInt32(Self.milliseconds(Self.refusalRetryPause) * 1000))
        }
    }

    private static let refusalRetryPause = Duration.milliseconds(50)

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
