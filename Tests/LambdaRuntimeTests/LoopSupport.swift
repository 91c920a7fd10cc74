import Foundation
import Synchronization
import TestSupport
@testable import LambdaRuntime

/// A handler made of a closure, for tests that need a particular behaviour.
struct ClosureHandler: LambdaHandler, Sendable {
    let body: @Sendable ([UInt8], LambdaContext) throws(FunctionError) -> [UInt8]

    func handle(_ event: [UInt8], context: LambdaContext) throws(FunctionError) -> [UInt8] {
        try body(event, context)
    }
}

/// What handlers saw, collected across threads.
final class Observations<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

/// Runs the real loop (libcurl included) against `address` and returns its exit status once the
/// Runtime API's answers end it.
func runLoop<Handler: LambdaHandler & Sendable>(
    against address: String, _ initialize: @escaping @Sendable () throws(FunctionError) -> Handler
) async -> Int32 {
    await onOwnThread {
        let logger = LambdaLogger(format: .text, minimumLevel: .info, requestID: nil, descriptor: StandardStreams.error)
        return RuntimeLoop.start(address: address, logger: logger, initialize: initialize)
    }
}

func runLoop(against server: RuntimeAPIServer, _ body: @escaping @Sendable ([UInt8], LambdaContext) throws(FunctionError) -> [UInt8]) async -> Int32 {
    await runLoop(against: server.address) { ClosureHandler(body: body) }
}

extension HTTPRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
