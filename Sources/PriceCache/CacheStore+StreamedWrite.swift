import RedisPool

/// A batch written while it is being decoded (a Kinesis or SQS batch: base64, JSON, validation
/// record by record). Decoding a 100-record batch takes the function about as long as Redis
/// takes to run the batch's latest-wins script, so instead of decoding everything and then
/// waiting for one script call, the records go in script calls of `writesPerStreamedCall`, each
/// sent as soon as its records are decoded: Redis runs one call (on its own core) while the
/// function decodes the records of the next, and only the last call's run is waited for.
/// The same script, the same replies, one round trip's wait (the replies are read after the
/// last call is sent); a retried attempt sends the same calls again (`ScriptCallStream`).
extension CacheStore {
    /// Writes per streamed script call. Smaller calls start Redis sooner and leave less of its
    /// work after the last record is decoded; each call costs a `write` and a script start-up
    /// (BENCHMARKS.md, issue 13's second pass).
    static let writesPerStreamedCall = 25

    /// Writes item `0..<count`'s write, `decode(index)` (nil for an item that makes no write: an
    /// invalid record, which the caller reports itself), asking for each item once, in order.
    /// Returns per item its outcome, nil where `decode` gave no write. Against a single primary
    /// the writes are sent as they are decoded (see above); against a cluster, or when the
    /// first call's worth of items is the whole batch, everything is decoded first and written
    /// as `write(_:deadline:)` writes it. Throws as `write(_:deadline:)` does: losing the
    /// connection (after the client's retries) leaves nothing known about any write.
    public func write(
        count: Int, deadline: ContinuousClock.Instant?, decoding decode: @escaping (Int) -> CacheWrite?
    ) throws(RedisError) -> [Result<WriteOutcome, RedisError>?] {
        var decoder = ItemDecoder(count: count, decode: decode)
        var results = [Result<WriteOutcome, RedisError>?](repeating: nil, count: count)
        let first = decoder.next(upTo: Self.writesPerStreamedCall)
        guard !first.writes.isEmpty else { return results }
        var writeAtOnce = decoder.isDone
        if !writeAtOnce { writeAtOnce = try client.routingTable(deadline: deadline) != nil }
        if writeAtOnce {
            let rest = decoder.next(upTo: count)
            let outcomes = try write(first.writes + rest.writes, deadline: deadline)
            for (position, outcome) in zip(first.positions + rest.positions, outcomes) { results[position] = outcome }
            return results
        }
        // Each call's item positions, in call order (the stream asks for call k+1 after sending k).
        var callPositions: [[Int]] = [first.positions]
        var firstCall: [CacheWrite]? = first.writes
        let calls = ScriptCallStream {
            let writes: [CacheWrite]
            if let pending = firstCall {
                firstCall = nil
                writes = pending
            } else {
                let chunk = decoder.next(upTo: Self.writesPerStreamedCall)
                guard !chunk.writes.isEmpty else { return nil }
                callPositions.append(chunk.positions)
                writes = chunk.writes
            }
            return CacheWrite.scriptCall(for: writes[...])
        }
        let replies = try client.runStreamed(CacheWrite.script, calls: calls, deadline: deadline)
        for (index, positions) in callPositions.enumerated() {
            let reply = index < replies.count ? replies[index] : .failure(RedisError(.protocolError, "fewer replies than script calls"))
            for (position, outcome) in zip(positions, Self.outcomes(of: reply, writeCount: positions.count)) { results[position] = outcome }
        }
        return results
    }
}

/// Items decoded in order, each once; the writes of the valid ones, with their positions.
private struct ItemDecoder {
    let count: Int
    let decode: (Int) -> CacheWrite?
    private var nextItem = 0

    init(count: Int, decode: @escaping (Int) -> CacheWrite?) {
        self.count = count
        self.decode = decode
    }

    var isDone: Bool { nextItem >= count }

    /// The next items' writes until `limit` of them or the last item.
    mutating func next(upTo limit: Int) -> (positions: [Int], writes: [CacheWrite]) {
        var positions: [Int] = []
        var writes: [CacheWrite] = []
        writes.reserveCapacity(min(limit, count - nextItem))
        while writes.count < limit, nextItem < count {
            if let write = decode(nextItem) {
                positions.append(nextItem)
                writes.append(write)
            }
            nextItem += 1
        }
        return (positions, writes)
    }
}
