import Foundation
import LambdaEvents
import LambdaRuntime
import RedisPool
import Testing
import TestSupport

/// The functions' ElastiCache RBAC access string, read from the one file the template check also
/// reads (`deploy/redis-functions.acl`), enforced by a real redis-server on a user the functions
/// connect as; every function path runs through it. A command the functions send and the string
/// lacks makes a path fail here, not in production.
enum FunctionsAccessString {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/redis-functions.acl")

    /// The access string: the file's one line that is neither empty nor a comment.
    static func load() throws -> String {
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let line = lines.first else {
            throw Malformed(description: "\(file.path) must hold exactly one access string line, found \(lines.count)")
        }
        return line
    }

    /// The rules after `on` (RedisServer.User adds `on >password` itself).
    static func rules(of accessString: String) throws -> [String] {
        let words = accessString.split(separator: " ").map(String.init)
        guard words.first == "on" else {
            throw Malformed(description: "the access string must start with 'on' (the user is enabled)")
        }
        return Array(words.dropFirst())
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }
}

@Suite(.serialized) struct AccessStringTests {
    static let user = "price-cache-functions"
    static let password = "functions-password-0123456789abcdef"

    private func harness(rules: [String]) throws -> HandlerHarness {
        let user = RedisServer.User(name: Self.user, password: Self.password, rules: rules)
        return try HandlerHarness(serverOptions: RedisServer.Options(users: [user]), functionsUser: user)
    }

    /// Every event the functions answer with success, in an order where reads find their data.
    private func runEveryFunctionPath(_ harness: HandlerHarness) throws -> [String] {
        var failures: [String] = []
        func expect(_ file: String, _ result: Result<JSONValue, FunctionError>, _ isGood: (JSONValue) -> Bool) {
            if let answer = result.answer, isGood(answer) { return }
            failures.append("\(file): \(result.answer?.jsonText ?? String(describing: result.error))")
        }
        let noFailures: (JSONValue) -> Bool = { $0["batchItemFailures"] == .array([]) || $0["failures"] == .array([]) || $0["written"] != nil }
        let ok: (JSONValue) -> Bool = { $0["statusCode"] == .integer(200) }
        // Writes: direct, direct batch, Kinesis, SQS; a signal, an alert, their batches.
        for file in [
            "price-update.json", "price-update-numbers.json", "price-batch.json", "price-batch-kinesis.json",
            "price-batch-kinesis-reordered.json", "price-batch-sqs.json",
        ] {
            expect(file, try harness.price(file), noFailures)
        }
        for file in ["signal.json", "signal-batch.json", "alert-status.json"] {
            expect(file, try harness.signal(file), noFailures)
        }
        // Batches with invalid records on purpose (their failures are the invalid ones; the valid
        // ones are written): the ACL LOG check below catches any refused command among them.
        let reportsItems: (JSONValue) -> Bool = { $0["batchItemFailures"]?.arrayValue?.isEmpty == false }
        for file in ["price-batch-kinesis-partial.json", "price-batch-sqs-partial.json"] {
            expect(file, try harness.price(file), reportsItems)
        }
        for file in ["signal-batch-kinesis.json", "signal-batch-sqs.json"] {
            expect(file, try harness.signal(file), reportsItems)
        }
        // Reads and the session routes.
        for file in ["get-price-apigw.json", "get-prices-apigw.json", "put-session-apigw.json", "get-session-prices-apigw.json"] {
            expect(file, try harness.price(file), ok)
        }
        for file in ["get-signal-apigw.json", "get-alert-apigw.json"] {
            expect(file, try harness.signal(file), ok)
        }
        // The script load: after SCRIPT FLUSH the write script answers NOSCRIPT and is sent whole (EVAL).
        try harness.server.cli("SCRIPT", "FLUSH")
        expect("price-update.json after SCRIPT FLUSH", try harness.price("price-update.json"), noFailures)
        try harness.server.cli("SCRIPT", "FLUSH")
        expect("signal-batch.json after SCRIPT FLUSH", try harness.signal("signal-batch.json"), noFailures)
        // The server's own record of refused commands and keys: it also catches a refusal the
        // client recovers from (a failed idle PING only costs a reconnect).
        let denials = try harness.server.cli("ACL", "LOG").trimmingCharacters(in: .whitespacesAndNewlines)
        if !denials.isEmpty { failures.append("ACL LOG: \(denials)") }
        return failures
    }

    @Test func everyFunctionPathRunsUnderTheAccessStringAndNothingIsDenied() throws {
        let harness = try harness(rules: FunctionsAccessString.rules(of: FunctionsAccessString.load()))
        #expect(try runEveryFunctionPath(harness) == [])
        #expect(
            try harness.client.command(RedisCommand("EXISTS", "price:AAPL", "signal:AAPL:momentum", "alert:status:a-123", "session:user-42")).integerValue == 4)
    }

    /// The test above can fail: with one command the functions send taken away, a path fails or
    /// the server logs a refusal.
    @Test(arguments: ["-hset", "-evalsha", "-hgetall", "-ping"])
    func anAccessStringWithoutACommandTheFunctionsSendFailsAPath(_ removal: String) throws {
        let harness = try harness(rules: FunctionsAccessString.rules(of: FunctionsAccessString.load()) + [removal])
        #expect(try runEveryFunctionPath(harness).isEmpty == false)
    }

    @Test func theAccessStringAllowsOnlyTheFourKeyFamilies() throws {
        let harness = try harness(rules: FunctionsAccessString.rules(of: FunctionsAccessString.load()))
        let functions = RedisServer.User(name: Self.user, password: Self.password)
        #expect(try harness.server.cli("SET", "other:key", "x", as: functions).contains("NOPERM"))
        #expect(try harness.server.cli("FLUSHALL", as: functions).contains("NOPERM"))
        #expect(try harness.server.cli("KEYS", "*", as: functions).contains("NOPERM"))
        #expect(try harness.server.cli("CONFIG", "GET", "*", as: functions).contains("NOPERM"))
    }
}
