import Testing
@testable import LambdaRuntime

@Suite struct HTTPRequestParserTests {
    private func parser(_ text: String, maximumBodySize: Int = 1024) -> HTTPRequestParser {
        var parser = HTTPRequestParser(maximumHeadSize: 256, maximumBodySize: maximumBodySize)
        parser.append(Array(text.utf8))
        return parser
    }

    @Test func getWithHeaders() throws {
        var parser = parser("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent:  swift-lambda-runtime/1.0 \r\n\r\n")
        #expect(
            try parser.next()
                == .request(
                    HTTPRequest(
                        method: "GET", target: "/2018-06-01/runtime/invocation/next",
                        headers: [HTTPHeader("Host", "127.0.0.1:9001"), HTTPHeader("User-Agent", "swift-lambda-runtime/1.0")],
                        body: [], keepAlive: true
                    )))
        #expect(try parser.next() == .needsMoreData(expectsContinue: false))
    }

    @Test func postBodyArrivingInPiecesThenAPipelinedRequest() throws {
        var parser = parser("POST /x?q=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel")
        #expect(try parser.next() == .needsMoreData(expectsContinue: false))
        parser.append(Array("loGET /y HTTP/1.0\r\n\r\n".utf8))
        guard case .request(let post) = try parser.next() else { Issue.record("no request"); return }
        #expect(post.body == Array("hello".utf8))
        #expect(post.path == "/x")
        #expect(post.header("content-length") == "5")
        guard case .request(let get) = try parser.next() else { Issue.record("no request"); return }
        #expect(get.target == "/y")
        #expect(!get.keepAlive, "HTTP/1.0 closes unless asked to keep alive")
    }

    @Test func expectContinueIsReportedUntilTheBodyArrives() throws {
        var parser = parser("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(try parser.next() == .needsMoreData(expectsContinue: true))
        parser.append(Array("ok".utf8))
        guard case .request(let request) = try parser.next() else { Issue.record("no request"); return }
        #expect(request.body == Array("ok".utf8))
    }

    @Test func connectionCloseAndLeadingEmptyLines() throws {
        var parser = parser("\r\n\r\nGET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n")
        guard case .request(let request) = try parser.next() else { Issue.record("no request"); return }
        #expect(!request.keepAlive)
    }

    @Test(arguments: [
        ("GET /\r\n\r\n", HTTPParseError.malformedRequestLine),
        ("GET  / HTTP/1.1\r\n\r\n", .malformedRequestLine),
        ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", .malformedHeader),
        ("GET / HTTP/1.1\r\n folded\r\n\r\n", .malformedHeader),
        ("GET / HTTP/1.1\r\n: empty\r\n\r\n", .malformedHeader),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", .bodyTooLarge),
    ])
    func malformedRequestsAreRefused(text: String, expected: HTTPParseError) {
        var parser = parser(text)
        #expect(throws: expected) { try parser.next() }
    }

    @Test func anEndlessHeadIsRefused() {
        var parser = parser("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 300))
        #expect(throws: HTTPParseError.headTooLarge) { try parser.next() }
        #expect(HTTPParseError.headTooLarge.status == 431)
    }

    @Test func responseBytes() {
        let response = HTTPResponse.json(202, Array("{}".utf8), headers: [HTTPHeader("X-Amz-Function-Error", "Unhandled")])
        #expect(
            String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
                == "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nX-Amz-Function-Error: Unhandled\r\nContent-Length: 2\r\n\r\n{}")
        #expect(
            String(decoding: HTTPResponse(status: 413).serialized(keepAlive: false), as: UTF8.self)
                == "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }
}
