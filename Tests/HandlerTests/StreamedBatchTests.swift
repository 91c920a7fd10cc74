import Foundation
import LambdaEvents
import RedisPool
import Testing
@testable import HandlerCore

/// Kinesis batches larger than one streamed script call (`CacheStore.writesPerStreamedCall`):
/// written while they are decoded, answered exactly as before (issue 13's second pass).
@Suite(.serialized) final class StreamedBatchTests {
    let harness: HandlerHarness

    init() throws {
        harness = try HandlerHarness()
    }

    private static func sequence(_ index: Int) -> String {
        "4959033827149025660855969253836157109592157598913\(String(format: "%07d", index))"
    }

    /// A Kinesis event of `count` price updates (`P0`, `P1`, ...; symbol `BAD SYMBOL` where
    /// `badSymbol` holds, data that is not base64 or not JSON where those hold).
    private static func kinesisEvent(count: Int, timestamp: Int, badSymbol: Set<Int> = [], notBase64: Set<Int> = [], notJSON: Set<Int> = []) -> [UInt8] {
        let records = (0..<count).map { index in
            let symbol = badSymbol.contains(index) ? "BAD SYMBOL" : "P\(index)"
            let update = #"{"symbol":"\#(symbol)","close":"\#(index).5","open":"1","high":"2","low":"0.5","volume":"10","timestamp":"\#(timestamp)"}"#
            let payload = notJSON.contains(index) ? "{not json" : update
            let data = notBase64.contains(index) ? "this is not base64!" : Data(payload.utf8).base64EncodedString()
            return
                #"{"kinesis":{"partitionKey":"P","sequenceNumber":"\#(sequence(index))","data":"\#(data)"},"eventSource":"aws:kinesis","eventName":"aws:kinesis:record"}"#
        }
        return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
    }

    @Test func aLargeBatchReportsExactlyItsFailedRecordsAndWritesTheRest() throws {
        // A refused write (a hash over a string) in the third call; invalid records in the first, second and last.
        _ = try harness.client.command(RedisCommand("SET", "price:P57", "a string, not a hash"))
        let answer = harness.invoke(
            harness.prices, bytes: Self.kinesisEvent(count: 90, timestamp: 1_700_000_000, badSymbol: [2], notBase64: [31], notJSON: [89]))
        #expect(answer.failedItems == [2, 31, 57, 89].map(Self.sequence))
        let metrics = harness.metrics.last
        #expect(metrics?["RecordsWritten"] == .number("86"))
        #expect(metrics?["Invalid"] == .number("3"))
        #expect(metrics?["RedisErrors"] == .number("1"))
        for index in [0, 30, 56, 58, 88] {
            #expect(try harness.client.command(RedisCommand("HGET", "price:P\(index)", "close")).stringValue == "\(index).5")
            // 300 s less the test's own time (far from it on a loaded host), still far from no TTL (-1).
            #expect((200...300).contains(try harness.ttl("price:P\(index)")))
        }
        #expect(try harness.client.command(RedisCommand("EXISTS", "price:P89")).integerValue == 0)
    }

    @Test func aRedeliveredLargeBatchWritesAgainAndAnOlderOneIsSkipped() throws {
        let event = Self.kinesisEvent(count: 60, timestamp: 1_700_000_100)
        #expect(harness.invoke(harness.prices, bytes: event).failedItems == [])
        #expect(harness.invoke(harness.prices, bytes: event).failedItems == [])
        #expect(harness.metrics.last?["RecordsWritten"] == .number("60"))
        #expect(harness.invoke(harness.prices, bytes: Self.kinesisEvent(count: 60, timestamp: 1_700_000_000)).failedItems == [])
        #expect(harness.metrics.last?["StaleSkipped"] == .number("60"))
        #expect(try harness.client.command(RedisCommand("HGET", "price:P7", "timestamp")).stringValue == "1700000100")
    }

    @Test func aLargeBatchOfOnlyInvalidRecordsNeedsNoRedis() throws {
        harness.server.kill()
        let answer = harness.invoke(harness.prices, bytes: Self.kinesisEvent(count: 40, timestamp: 1, notBase64: Set(0..<40)))
        #expect(answer.failedItems == (0..<40).map(Self.sequence))
        // With something to write, the lost server fails the whole invocation: the event source retries the batch.
        let lost = harness.invoke(harness.prices, bytes: Self.kinesisEvent(count: 40, timestamp: 1))
        #expect(lost.error?.errorType == "Function.RedisUnavailable")
        try harness.server.restart()
        #expect(harness.invoke(harness.prices, bytes: Self.kinesisEvent(count: 40, timestamp: 1)).failedItems == [])
    }
}
