import Foundation
import TestSupport
@testable import LambdaRuntime

/// A handler made of a closure, for tests that need a particular behaviour.
struct ClosureHandler: LambdaHandler, Sendable {
    let body: @Sendable ([UInt8], LambdaContext) throws(FunctionError) -> [UInt8]

    func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8] {
        try body(event, context)
    }
}

/// Every loop sets or unsets the process-wide `_X_AMZN_TRACE_ID`. Loops share this lock, so they
/// still run in parallel; a test that reads the variable takes it alone (`readsTraceVariable`), so
/// no other test's loop changes the variable under it. A reader-writer lock, not a plain one: a
/// plain lock would make time-sensitive loops (deadlines) wait behind the 7 s `/next` test.
// nonisolated(unsafe): a pthread lock is made to be shared across threads; it is never reassigned.
nonisolated(unsafe) private let traceVariableLock: UnsafeMutablePointer<pthread_rwlock_t> = {
    let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    pthread_rwlock_init(lock, nil)
    return lock
}()

/// Runs the real loop (libcurl included) against `address` and returns its exit status once the
/// Runtime API's answers end it.
func runLoop<Handler: LambdaHandler & Sendable>(
    against address: String, _ initialize: @escaping @Sendable () throws(FunctionError) -> Handler
) async -> Int32 {
    await onLoopThread(readsTraceVariable: false) { logger in
        RuntimeLoop.start(address: address, logger: logger, initialize: initialize)
    }
}

func runLoop(
    against server: RuntimeAPIServer, _ body: @escaping @Sendable ([UInt8], LambdaContext) throws(FunctionError) -> [UInt8]
) async -> Int32 {
    await runLoop(against: server.address) { ClosureHandler(body: body) }
}

/// The same loop against a Runtime API kept in memory: no socket, no libcurl.
func runLoop<Handler: LambdaHandler & Sendable>(
    on client: InMemoryRuntimeAPIClient, readsTraceVariable: Bool = false,
    _ initialize: @escaping @Sendable () throws(FunctionError) -> Handler
) async -> Int32 {
    await onLoopThread(readsTraceVariable: readsTraceVariable) { logger in
        RuntimeLoop.start(client: client, logger: logger, initialize: initialize)
    }
}

func runLoop(
    on client: InMemoryRuntimeAPIClient, readsTraceVariable: Bool = false,
    _ body: @escaping @Sendable ([UInt8], LambdaContext) throws(FunctionError) -> [UInt8]
) async -> Int32 {
    await runLoop(on: client, readsTraceVariable: readsTraceVariable) { ClosureHandler(body: body) }
}

/// A loop on a thread of its own (it blocks), holding the trace variable's lock as it needs, its
/// log on stderr.
private func onLoopThread(readsTraceVariable: Bool, _ loop: @escaping @Sendable (LambdaLogger) -> Int32) async -> Int32 {
    await onOwnThread {
        _ = readsTraceVariable ? pthread_rwlock_wrlock(traceVariableLock) : pthread_rwlock_rdlock(traceVariableLock)
        defer { pthread_rwlock_unlock(traceVariableLock) }
        return loop(LambdaLogger(format: .text, minimumLevel: .info, requestID: nil, descriptor: StandardStreams.error))
    }
}

extension HTTPRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
