import Foundation
import Testing
import TestSupport
@testable import LambdaRuntime

/// The loop's decisions against a Runtime API kept in memory (`InMemoryRuntimeAPIClient`): what it
/// posts for each outcome, when it goes on and when it ends, what the handler sees. The wire
/// itself (paths, headers, sizes, connections) is `RuntimeLoopTests`' part, over libcurl.
@Suite struct LoopDecisionTests {
    typealias Call = InMemoryRuntimeAPIClient.Call

    @Test func eachInvocationIsAnsweredWithItsOutputThenTheNextIsAsked() async {
        let client = InMemoryRuntimeAPIClient([.event("1", requestID: "a"), .event("2", requestID: "b")])
        let status = await runLoop(on: client) { event, _ in event + Array(" echoed".utf8) }
        #expect(status == 1, "the script's 403 ends the loop")
        #expect(
            client.calls == [
                .next, .response(requestID: "a", body: "1 echoed"),
                .next, .response(requestID: "b", body: "2 echoed"),
                .next,
            ])
    }

    @Test func aThrowingHandlerFailsItsInvocationAloneWithItsError() async {
        let failure = FunctionError(type: "Function.InvalidEvent", message: #"symbol "X" is unknown"#)
        let client = InMemoryRuntimeAPIClient([.event("bad", requestID: "a"), .event("good", requestID: "b")])
        _ = await runLoop(on: client) { event, _ throws(FunctionError) in
            guard event != Array("bad".utf8) else { throw failure }
            return event
        }
        #expect(client.calls == [.next, .error(requestID: "a", failure), .next, .response(requestID: "b", body: "good"), .next])
    }

    @Test func anInitErrorIsPostedAndNoInvocationIsAsked() async {
        let failure = FunctionError(type: "Function.RedisUnavailable", message: "cannot reach redis")
        for initErrorReply in [RuntimeAPIReply.status(202), .status(500), .transportFailure(detail: "reset", receivedResponseBytes: true)] {
            let client = InMemoryRuntimeAPIClient([.event("never", requestID: "a")]) { _ in initErrorReply }
            let status = await runLoop(on: client) { () throws(FunctionError) -> ClosureHandler in throw failure }
            #expect(status == 1, "after \(initErrorReply)")
            #expect(client.calls == [.initError(failure)], "after \(initErrorReply)")
        }
    }

    /// `/response` and `/error` replies, as `StatusPolicy.afterPost` rules: 400, 413 and other 4xx
    /// are logged and the loop goes on (413: Lambda has failed the invocation, no `/error` follows);
    /// a 5xx or a broken connection ends the process.
    @Test(arguments: [
        (RuntimeAPIReply.status(202), true), (.status(400), true), (.status(413), true), (.status(404), true),
        (.status(500), false), (.status(503), false),
        (.transportFailure(detail: "reset", receivedResponseBytes: false), false),
        (.unreadableHead(.headerTooLarge(endpoint: "/response", name: "X", size: 2, limit: 1)), false),
    ])
    func aPostsReplyDecidesWhetherTheLoopGoesOn(reply: RuntimeAPIReply, goesOn: Bool) async {
        let failure = FunctionError(type: "Function.Refused", message: "no")
        for throwing in [false, true] {
            let client = InMemoryRuntimeAPIClient([.event("1", requestID: "a"), .event("2", requestID: "b")]) { _ in reply }
            let status = await runLoop(on: client) { event, _ throws(FunctionError) in
                if throwing { throw failure }
                return event
            }
            #expect(status == 1)
            let firstPost: Call = throwing ? .error(requestID: "a", failure) : .response(requestID: "a", body: "1")
            let secondPost: Call = throwing ? .error(requestID: "b", failure) : .response(requestID: "b", body: "2")
            #expect(client.calls == (goesOn ? [.next, firstPost, .next, secondPost, .next] : [.next, firstPost]), "\(reply), throwing: \(throwing)")
        }
    }

    /// `/next` answering 403, any 5xx or any other status ends the process at once, the handler
    /// never called; so does a connection that broke in the middle of an answer.
    @Test(arguments: [
        RuntimeAPIReply.status(403), .status(500), .status(503), .status(404), .status(204),
        .transportFailure(detail: "reset", receivedResponseBytes: true),
    ])
    func aNextThatCarriesNoInvocationEndsTheProcessAtOnce(reply: RuntimeAPIReply) async {
        let handled = Observations<Int>()
        let client = InMemoryRuntimeAPIClient([.failure(reply, requestID: "a"), .event("never", requestID: "b")])
        let status = await runLoop(on: client) { event, _ in
            handled.append(1); return event
        }
        #expect(status == 1)
        #expect(client.calls == [.next], "no retry after \(reply)")
        #expect(handled.all.isEmpty)
    }

    /// A connection refused before any byte of an answer is retried three times (waiting 100, 200
    /// and 400 ms), then the process ends.
    @Test func aRefusedNextIsRetriedThreeTimesThenTheProcessEnds() async {
        let refused = InMemoryRuntimeAPIClient.Next.failure(.transportFailure(detail: "refused", receivedResponseBytes: false))
        let recovering = InMemoryRuntimeAPIClient([refused, refused, refused, .event("1", requestID: "a")])
        _ = await runLoop(on: recovering) { event, _ in event }
        #expect(recovering.calls == [.next, .next, .next, .next, .response(requestID: "a", body: "1"), .next])

        let lost = InMemoryRuntimeAPIClient([refused, refused, refused, refused, .event("never", requestID: "a")])
        let status = await runLoop(on: lost) { event, _ in event }
        #expect(status == 1)
        #expect(lost.calls == [.next, .next, .next, .next])
    }

    @Test func anInvocationWithoutARequestIDEndsTheProcessUnhandled() async {
        let handled = Observations<Int>()
        let client = InMemoryRuntimeAPIClient([.event("{}", requestID: nil), .event("never", requestID: "b")])
        let status = await runLoop(on: client) { event, _ in
            handled.append(1); return event
        }
        #expect(status == 1)
        #expect(handled.all.isEmpty)
        #expect(client.calls == [.next])
    }

    /// An answer whose head could not be read fails its invocation with the runtime's error type
    /// (when its request id came before the fault; Lambda would otherwise wait for its timeout),
    /// and the loop goes on, unless that post's reply ends it.
    @Test func anUnreadableInvocationIsFailedWithTheRuntimesErrorTypeAndTheLoopGoesOn() async {
        let fault = RuntimeError.headerTooLarge(endpoint: "/next", name: "Lambda-Runtime-Client-Context", size: 80_033, limit: 65_536)
        let posted = FunctionError(type: "Runtime.HeaderTooLarge", message: fault.message)
        let named = InMemoryRuntimeAPIClient([.failure(.unreadableHead(fault), requestID: "big"), .event("2", requestID: "fine")])
        _ = await runLoop(on: named) { event, _ in event }
        #expect(named.calls == [.next, .error(requestID: "big", posted), .next, .response(requestID: "fine", body: "2"), .next])

        let unnamed = InMemoryRuntimeAPIClient([.failure(.unreadableHead(fault)), .event("2", requestID: "fine")])
        _ = await runLoop(on: unnamed) { event, _ in event }
        #expect(unnamed.calls == [.next, .next, .response(requestID: "fine", body: "2"), .next])

        let refused = InMemoryRuntimeAPIClient([.failure(.unreadableHead(fault), requestID: "big"), .event("2", requestID: "fine")]) { _ in .status(500) }
        let status = await runLoop(on: refused) { event, _ in event }
        #expect(status == 1)
        #expect(refused.calls == [.next, .error(requestID: "big", posted)])
    }

    /// `_X_AMZN_TRACE_ID` is each invocation's own: set from its header, removed when it has none.
    @Test func theTraceVariableIsEachInvocationsOwn() async {
        let first = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        let third = "Root=1-6565a0f1-000000000000000000000003;Parent=0000000000000003;Sampled=0"
        let client = InMemoryRuntimeAPIClient([
            .event("1", requestID: "a", traceID: first), .event("2", requestID: "b"), .event("3", requestID: "c", traceID: third),
        ])
        let seen = Observations<[String?]>()
        _ = await runLoop(on: client, readsTraceVariable: true) { event, context in
            seen.append([ProcessInfo.processInfo.environment["_X_AMZN_TRACE_ID"], context.traceID])
            return event
        }
        #expect(seen.all == [[first, first], [nil, nil], [third, third]])
    }

    @Test func theContextCarriesTheInvocationsHeaders() async throws {
        let client = InMemoryRuntimeAPIClient([
            .event(
                "{}", requestID: "ctx", deadline: 1_700_000_123_456,
                clientContext: #"{"custom":{}}"#, cognitoIdentity: #"{"cognitoIdentityId":"c"}"#, tenantID: "tenant-1"
            )
        ])
        let seen = Observations<LambdaContext>()
        _ = await runLoop(on: client) { event, context in
            seen.append(context); return event
        }
        let context = try #require(seen.all.first)
        #expect(context.requestID == "ctx")
        #expect(context.deadline.millisecondsSinceEpoch == 1_700_000_123_456)
        #expect(context.invokedFunctionARN == "arn:aws:lambda:eu-west-1:123456789012:function:test")
        #expect(context.clientContext == #"{"custom":{}}"#)
        #expect(context.cognitoIdentity == #"{"cognitoIdentityId":"c"}"#)
        #expect(context.tenantID == "tenant-1")
        #expect(context.logger.requestID == "ctx")
    }

    /// Without a usable deadline header the handler gets Lambda's longest timeout, 900 s, never a
    /// shorter budget than the real one; a missing ARN is empty, not a failure.
    @Test func missingHeadersGiveTheLongestDeadlineAndAnEmptyARN() async throws {
        let client = InMemoryRuntimeAPIClient([.event("{}", requestID: "bare", deadline: nil, invokedFunctionARN: nil)])
        let seen = Observations<LambdaContext>()
        let before = WallClock.millisecondsSinceEpoch()
        _ = await runLoop(on: client) { event, context in
            seen.append(context); return event
        }
        let after = WallClock.millisecondsSinceEpoch()
        let context = try #require(seen.all.first)
        #expect((before + 900_000...after + 900_000).contains(context.deadline.millisecondsSinceEpoch))
        #expect(context.invokedFunctionARN == "")
        #expect(context.traceID == nil && context.clientContext == nil && context.cognitoIdentity == nil && context.tenantID == nil)
    }
}
