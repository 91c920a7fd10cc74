import Foundation
import Testing
import TestSupport
@testable import LambdaRuntime

/// The loop over libcurl against a real HTTP Runtime API on loopback: the wire (paths, headers,
/// bodies, sizes, the kept-alive connection). The loop's decisions are `LoopDecisionTests`'.
@Suite struct RuntimeLoopTests {
    @Test func nextThenResponse() async throws {
        let server = try RuntimeAPIServer(script: [.event(#"{"a":1}"#, requestID: "req-1"), .event("2"), .event("3")])
        defer { server.stop() }
        let status = await runLoop(against: server) { event, _ in event + Array(" echoed".utf8) }
        #expect(status == 1, "the script ends with 403, which ends the loop")
        let requests = server.requests
        #expect(
            requests.prefix(3).map { "\($0.method) \($0.target)" } == [
                "GET /2018-06-01/runtime/invocation/next",
                "POST /2018-06-01/runtime/invocation/req-1/response",
                "GET /2018-06-01/runtime/invocation/next",
            ])
        #expect(requests.count == 7, "three invocations, then the /next that ends the script")
        #expect(server.connectionCount == 1, "one easy handle, one kept-alive connection")
        let response = requests[1]
        #expect(response.bodyText == #"{"a":1} echoed"#)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("Content-Length") == "14")
        #expect(response.header("Expect") == nil)
        #expect(requests.allSatisfy { $0.header("User-Agent") == "swift-lambda-runtime/1.0" })
        #expect(requests[0].header("Proxy-Connection") == nil)
    }

    @Test func errorWithTypeHeaderAndBody() async throws {
        let server = try RuntimeAPIServer(script: [.event("{}", requestID: "req-2")])
        defer { server.stop() }
        _ = await runLoop(against: server) { _, _ throws(FunctionError) in
            throw FunctionError(type: "Function.InvalidEvent", message: "symbol \"X\" is unknown")
        }
        let posted = try #require(server.requests(endingWith: "/req-2/error").first)
        #expect(posted.header("Lambda-Runtime-Function-Error-Type") == "Function.InvalidEvent")
        #expect(posted.header("Content-Type") == "application/json")
        #expect(posted.bodyText == #"{"errorMessage":"symbol \"X\" is unknown","errorType":"Function.InvalidEvent","stackTrace":[]}"#)
        #expect(server.requests(endingWith: "/response").isEmpty)
    }

    /// The client alone (the loop's part is `LoopDecisionTests`'): `/init/error` with the type header
    /// and Lambda's body.
    @Test func initErrorWithTypeHeaderAndBody() async throws {
        let server = try RuntimeAPIServer(script: [])
        defer { server.stop() }
        let address = server.address
        let reply = await onOwnThread { () -> RuntimeAPIReply in
            do {
                let client = try RuntimeAPIClient(address: address)
                return client.postInitError(FunctionError(type: "Function.RedisUnavailable", message: "cannot reach redis"))
            } catch {
                return .transportFailure(detail: "\(error)", receivedResponseBytes: false)
            }
        }
        #expect(reply == .status(202))
        let requests = server.requests
        #expect(requests.map(\.target) == ["/2018-06-01/runtime/init/error"])
        #expect(requests.first?.header("Lambda-Runtime-Function-Error-Type") == "Function.RedisUnavailable")
        #expect(requests.first?.header("Content-Type") == "application/json")
        #expect(requests.first?.bodyText == #"{"errorMessage":"cannot reach redis","errorType":"Function.RedisUnavailable","stackTrace":[]}"#)
    }

    /// Every header the context carries arrives through libcurl's header callback (the loop's
    /// use of them is `LoopDecisionTests`').
    @Test func theInvocationsHeadersReachTheContext() async throws {
        let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        let invocation = RuntimeAPIServer.Invocation.event(
            Array("{}".utf8), requestID: "ctx", traceID: trace,
            extraHeaders: [
                HTTPHeader("Lambda-Runtime-Client-Context", #"{"custom":{}}"#),
                HTTPHeader("Lambda-Runtime-Cognito-Identity", #"{"cognitoIdentityId":"c"}"#),
                HTTPHeader("Lambda-Runtime-Aws-Tenant-Id", "tenant-1"),
            ]
        )
        let server = try RuntimeAPIServer(script: [invocation])
        defer { server.stop() }
        let seen = Observations<LambdaContext>()
        _ = await runLoop(against: server) { event, context in
            seen.append(context)
            return event
        }
        let context = try #require(seen.all.first)
        let deadlineHeader = try #require(invocation.headers.first { $0.name == "Lambda-Runtime-Deadline-Ms" })
        #expect(String(context.deadline.millisecondsSinceEpoch) == deadlineHeader.value)
        #expect(context.requestID == "ctx")
        #expect(context.invokedFunctionARN == "arn:aws:lambda:eu-west-1:123456789012:function:test")
        #expect(context.traceID == trace)
        #expect(context.clientContext == #"{"custom":{}}"#)
        #expect(context.cognitoIdentity == #"{"cognitoIdentityId":"c"}"#)
        #expect(context.tenantID == "tenant-1")
    }

    @Test func aNextThatAnswersAfterSevenSecondsStillSucceeds() async throws {
        let server = try RuntimeAPIServer(script: [.event(Array("slow".utf8), requestID: "slow", delay: .seconds(7))])
        defer { server.stop() }
        let started = ContinuousClock.now
        _ = await runLoop(against: server) { event, _ in event }
        #expect(ContinuousClock.now - started >= .seconds(7))
        #expect(server.requests(endingWith: "/slow/response").first?.bodyText == "slow")
    }

    @Test func oneMegabyteEventAndFiveMegabyteResponseRoundTrip() async throws {
        let event = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let server = try RuntimeAPIServer(script: [.event(event, requestID: "big")])
        defer { server.stop() }
        let sizes = Observations<Int>()
        _ = await runLoop(against: server) { received, _ throws(FunctionError) in
            guard received == event else { throw FunctionError(type: "Function.Corrupted", message: "event changed") }
            sizes.append(received.count)
            return Array(repeating: received, count: 5).flatMap { $0 }
        }
        #expect(sizes.all == [1 << 20])
        let response = try #require(server.requests(endingWith: "/big/response").first)
        #expect(response.body.count == 5 << 20)
        #expect(response.body == Array(repeating: event, count: 5).flatMap { $0 })
    }

    @Test func connectionFailuresOnNextAreRetriedThenTheLoopExits() async throws {
        let server = try RuntimeAPIServer(script: [])
        let address = server.address
        server.stop()
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        let status = await runLoop(against: address) { ClosureHandler { event, _ in event } }
        #expect(status != 0)
        // Three retries after 100, 200 and 400 ms.
        #expect(ContinuousClock.now - started >= .milliseconds(700))
    }
}

@Suite struct EmptyBodyTests {
    /// libcurl reads a POST body from its read callback (stdin by default) when given no pointer:
    /// an empty answer must still be an empty body, at once.
    @Test func anEmptyResponseIsPostedAsAnEmptyBody() async throws {
        let server = try RuntimeAPIServer(script: [.event("{}", requestID: "empty"), .event("{}", requestID: "after")])
        defer { server.stop() }
        _ = await runLoop(against: server) { _, _ in [] }
        #expect(server.requests(endingWith: "/empty/response").first?.body == [])
        #expect(server.requests(endingWith: "/empty/response").first?.header("Content-Length") == "0")
        #expect(server.requests(endingWith: "/after/response").count == 1)
    }
}

@Suite struct OddRequestIDTests {
    /// An id that is no UUID still names its invocation: percent-encoded in the path, decoded as
    /// the same id by the server.
    @Test(arguments: ["id with spaces/and?query#frag", "..", "ünïcode"])
    func oddRequestIDsReachTheirInvocation(requestID: String) async throws {
        let server = try RuntimeAPIServer(script: [.event("{}", requestID: requestID)])
        defer { server.stop() }
        _ = await runLoop(against: server) { event, _ in event }
        let posted = server.requests.filter { $0.method == "POST" }
        #expect(posted.count == 1)
        #expect(posted.first.map { String($0.path.split(separator: "/")[3]).removingPercentEncoding } == requestID)
    }
}

/// A `/next` answer with a header too large to read fails that invocation alone, with a
/// `Runtime.HeaderTooLarge` error naming what is known of the header, and the loop goes on.
@Suite struct OversizedHeaderTests {
    static func clientContext(bytes: Int) -> HTTPHeader {
        HTTPHeader("Lambda-Runtime-Client-Context", String(repeating: "A", count: bytes))
    }

    /// The value that makes the whole client-context line ("Name: value\r\n") `lineBytes` long.
    static func clientContext(lineBytes: Int) -> HTTPHeader {
        clientContext(bytes: lineBytes - "Lambda-Runtime-Client-Context: \r\n".utf8.count)
    }

    /// These run against the libcurl `swift build` links (the system's, stock 100 KiB limit); the
    /// packaged bootstrap's raised limit is checked through the real zip by scripts/test-package.sh.
    @Test func aHeaderOverLibcurlsLimitFailsItsInvocationAndTheLoopGoesOn() async throws {
        let server = try RuntimeAPIServer(script: [
            .event(Array("{}".utf8), requestID: "big-context", extraHeaders: [Self.clientContext(bytes: 300_000)]),
            .event("2", requestID: "fine"),
        ])
        defer { server.stop() }
        let status = await runLoop(against: server) { event, _ in event }
        #expect(status == 1, "the loop ran until the script's 403")
        let posted = try #require(server.requests(endingWith: "/big-context/error").first)
        #expect(posted.header("Lambda-Runtime-Function-Error-Type") == "Runtime.HeaderTooLarge")
        #expect(posted.bodyText.contains(#""errorType":"Runtime.HeaderTooLarge""#))
        #expect(
            posted.bodyText.contains("a header line of \(ResponseHead.libcurlHeaderLineLimit) bytes or more, which the linked libcurl drops unseen"),
            "\(posted.bodyText)")
        #expect(posted.bodyText.contains("the header after Lambda-Runtime-Invoked-Function-Arn"), "\(posted.bodyText)")
        #expect(server.requests(endingWith: "/fine/response").first?.bodyText == "2", "the next invocation runs")
    }

    /// The limit the fallback message states is the linked libcurl's real one, to the byte: a line
    /// one byte shorter still reaches the runtime, which names it.
    @Test func theStatedLibcurlLimitIsTheLinkedLibrarysOwn() async throws {
        let limit = ResponseHead.libcurlHeaderLineLimit
        #expect(limit == 100 * 1024, "swift build links the system's libcurl, built with the stock limit")
        let server = try RuntimeAPIServer(script: [
            .event(Array("{}".utf8), requestID: "just-under", extraHeaders: [Self.clientContext(lineBytes: limit - 1)]),
            .event(Array("{}".utf8), requestID: "at-limit", extraHeaders: [Self.clientContext(lineBytes: limit)]),
            .event("3", requestID: "fine"),
        ])
        defer { server.stop() }
        let status = await runLoop(against: server) { event, _ in event }
        #expect(status == 1)
        let named = try #require(server.requests(endingWith: "/just-under/error").first)
        #expect(named.bodyText.contains("a Lambda-Runtime-Client-Context header of \(limit - 1) bytes"), "\(named.bodyText)")
        let placed = try #require(server.requests(endingWith: "/at-limit/error").first)
        #expect(placed.bodyText.contains("a header line of \(limit) bytes or more"), "\(placed.bodyText)")
        #expect(server.requests(endingWith: "/fine/response").first?.bodyText == "3")
    }

    /// Headers each under the runtime's line limit but together over its limit for a head: refused by
    /// the runtime, naming the header that crossed it, before libcurl's own total (300 KiB) would
    /// refuse them with no name at all.
    @Test func headersTogetherOverTheRuntimesLimitAreRefusedAtTheOneThatCrossedIt() async throws {
        let padding = (1...6).map { HTTPHeader("X-Padding-\($0)", String(repeating: "p", count: 60_000)) }
        let server = try RuntimeAPIServer(script: [
            .event(Array("{}".utf8), requestID: "wide", extraHeaders: padding),
            .event("2", requestID: "fine"),
        ])
        defer { server.stop() }
        let status = await runLoop(against: server) { event, _ in event }
        #expect(status == 1)
        let posted = try #require(server.requests(endingWith: "/wide/error").first)
        #expect(posted.header("Lambda-Runtime-Function-Error-Type") == "Runtime.HeaderTooLarge")
        #expect(
            posted.bodyText.contains("bytes of headers up to and including X-Padding-5, over the runtime's limit of 262144 bytes for all headers"),
            "\(posted.bodyText)")
        #expect(server.requests(endingWith: "/fine/response").first?.bodyText == "2")
    }

    @Test func aHeaderOverTheRuntimesLimitIsNamedWithItsSize() async throws {
        let server = try RuntimeAPIServer(script: [
            .event(Array("{}".utf8), requestID: "named", extraHeaders: [Self.clientContext(bytes: 80_000)]),
            .event("2", requestID: "fine"),
        ])
        defer { server.stop() }
        let status = await runLoop(against: server) { event, _ in event }
        #expect(status == 1)
        let posted = try #require(server.requests(endingWith: "/named/error").first)
        #expect(posted.header("Lambda-Runtime-Function-Error-Type") == "Runtime.HeaderTooLarge")
        // The line: name, ": ", 80,000 bytes of value, CRLF.
        #expect(
            posted.bodyText.contains("a Lambda-Runtime-Client-Context header of 80033 bytes, over the runtime's limit of 65536 bytes"), "\(posted.bodyText)")
        #expect(server.requests(endingWith: "/fine/response").first?.bodyText == "2")
    }

    @Test func withoutItsRequestIdTheInvocationCannotBeFailedButTheLoopGoesOn() async throws {
        let unnamed = RuntimeAPIServer.Invocation.event(Array("{}".utf8), requestID: "never-seen")
        let server = try RuntimeAPIServer(script: [
            RuntimeAPIServer.Invocation(headers: [Self.clientContext(bytes: 300_000)] + unnamed.headers, body: unnamed.body),
            .event("2", requestID: "fine"),
        ])
        defer { server.stop() }
        let status = await runLoop(against: server) { event, _ in event }
        #expect(status == 1)
        #expect(server.requests(endingWith: "/error").isEmpty)
        #expect(server.requests(endingWith: "/fine/response").first?.bodyText == "2")
    }

    @Test func theHeadRecordsWhatItCouldRead() {
        var head = ResponseHead()
        for line in ["HTTP/1.1 200 OK\r\n", "Lambda-Runtime-Aws-Request-Id: r\r\n"] {
            #expect(Array(line.utf8).withUnsafeBufferPointer { head.consume(line: $0) })
        }
        #expect(head.unreadable(endpoint: "/next", refusedByLibcurl: false) == nil, "a broken connection is not a header fault")
        #expect(
            head.unreadable(endpoint: "/next", refusedByLibcurl: true)
                == .headerOverLibcurlLimit(endpoint: "/next", after: "Lambda-Runtime-Aws-Request-Id", limit: ResponseHead.libcurlHeaderLineLimit))
        let big = Array("X-Big: \(String(repeating: "v", count: 70_000))\r\n".utf8)
        #expect(!big.withUnsafeBufferPointer { head.consume(line: $0) })
        #expect(
            head.unreadable(endpoint: "/next", refusedByLibcurl: false) == .headerTooLarge(endpoint: "/next", name: "X-Big", size: big.count, limit: 65_536))
        #expect(
            StatusPolicy.afterNext(.unreadableHead(.headerTooLarge(endpoint: "/next", name: "X-Big", size: 1, limit: 0)))
                == .failInvocation(.headerTooLarge(endpoint: "/next", name: "X-Big", size: 1, limit: 0)))
        var wide = ResponseHead()
        let padding = Array("X-Pad: \(String(repeating: "p", count: 60_000))\r\n".utf8)
        _ = Array("HTTP/1.1 200 OK\r\n".utf8).withUnsafeBufferPointer { wide.consume(line: $0) }
        for _ in 1...4 { #expect(padding.withUnsafeBufferPointer { wide.consume(line: $0) }) }
        #expect(!padding.withUnsafeBufferPointer { wide.consume(line: $0) }, "the fifth takes the head over 256 KiB")
        #expect(
            wide.unreadable(endpoint: "/next", refusedByLibcurl: false)
                == .headersTooLarge(endpoint: "/next", size: 17 + 5 * padding.count, at: "X-Pad", limit: 262_144))
        var complete = ResponseHead()
        for line in ["HTTP/1.1 200 OK\r\n", "A: b\r\n", "\r\n"] {
            _ = Array(line.utf8).withUnsafeBufferPointer { complete.consume(line: $0) }
        }
        #expect(complete.unreadable(endpoint: "/next", refusedByLibcurl: true) == nil, "a complete head is not unreadable")
    }
}
