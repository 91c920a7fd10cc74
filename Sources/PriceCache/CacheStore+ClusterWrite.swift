import RedisPool

/// The cluster forms of `CacheStore.write`.
///
/// A batch's symbols hash to as many slots as there are symbols, so one script call per slot
/// (the rule for a script's declared keys) makes a 100-record batch about 100 script calls,
/// each paying Redis's script start-up. Instead each node gets one call of `CacheWrite.nodeScript`
/// per 100 of its writes (`writeByNode`); the records a node refuses in that call (a key whose
/// slot is moving or moved, the table being out of date) are written again the per-slot way
/// one record per call (`writeBySlot`), whose routing follows `MOVED`, `ASK` and `TRYAGAIN`, so
/// resharding and failover are handled as before.
///
/// One record per call there, because those records are mostly keys of a slot being moved: some
/// still on the source, some already on the target, some on neither. A call naming several of
/// them is refused with `TRYAGAIN` by both nodes until the move ends (Redis serves a multi-key
/// request in a migrating slot only when all its keys are on one side); a call of one key is
/// served by whichever node holds it, the target after `ASK` when it is gone from the source.
extension CacheStore {
    /// One node-script call per node (per 100 writes); the writes it could not make go through
    /// `writeBySlot` one per call, in batch order, and their outcome there is their result.
    func writeByNode(_ writes: [CacheWrite], table: SlotTable, deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<WriteOutcome, RedisError>] {
        guard !nodeScriptRefused.withLock({ $0 }) else {
            return try writeBySlot(writes, maximumPerCall: Self.maximumWritesPerScriptCall, deadline: deadline)
        }
        var nodeNumbers: [NodeAddress: Int] = [:]
        for (number, node) in table.primaries.enumerated() { nodeNumbers[node] = number }
        // Writes whose slot no primary serves now go the per-slot way at once (it waits for one).
        var bySlot: [Int] = []
        var byNode: [(index: Int, node: Int)] = []
        for (index, write) in writes.enumerated() {
            if let owner = table.primary(for: KeySlot.of(write.key)), let number = nodeNumbers[owner] {
                byNode.append((index, number))
            } else {
                bySlot.append(index)
            }
        }
        var results = [Result<WriteOutcome, RedisError>?](repeating: nil, count: writes.count)
        if !byNode.isEmpty {
            let plan = GroupedBatchPlan(groupOf: byNode.map(\.node), maximumPerCall: Self.maximumWritesPerScriptCall)
            let calls = plan.calls.map { positions in CacheWrite.nodeScriptCall(for: positions.map { writes[byNode[$0].index] }[...]) }
            let replies = try client.runPipelined(CacheWrite.nodeScript, calls: calls, deadline: deadline)
            for (positions, reply) in zip(plan.calls, replies) {
                if case .failure(let error) = reply, Self.refusesNodeScript(error) {
                    nodeScriptRefused.withLock { $0 = true }
                }
                for (position, outcome) in zip(positions, Self.outcomes(of: reply, writeCount: positions.count)) {
                    let index = byNode[position].index
                    if case .failure(let error) = outcome, Self.isRewrittenBySlot(error) {
                        bySlot.append(index)
                    } else {
                        results[index] = outcome
                    }
                }
            }
        }
        if !bySlot.isEmpty {
            bySlot.sort()
            let rewritten: [Result<WriteOutcome, RedisError>]
            do {
                rewritten = try writeBySlot(bySlot.map { writes[$0] }, maximumPerCall: 1, deadline: deadline)
            } catch {
                // No node answered the second time; what the first calls wrote stands.
                guard results.contains(where: { $0 != nil }) else { throw error }
                rewritten = Array(repeating: .failure(error), count: bySlot.count)
            }
            for (index, outcome) in zip(bySlot, rewritten) { results[index] = outcome }
        }
        return results.map { $0 ?? .failure(RedisError(.protocolError, "fewer replies than script calls")) }
    }

    /// One script call per slot group of at most `maximumPerCall` writes (`GroupedBatchPlan`);
    /// the client sends each node its calls as one pipeline.
    func writeBySlot(_ writes: [CacheWrite], maximumPerCall: Int, deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<WriteOutcome, RedisError>] {
        let plan = GroupedBatchPlan(groupOf: writes.map { KeySlot.of($0.key) }, maximumPerCall: maximumPerCall)
        let calls = plan.calls.map { indices in CacheWrite.scriptCall(for: indices.map { writes[$0] }[...]) }
        let replies = try client.runPipelined(CacheWrite.script, calls: calls, deadline: deadline)
        let perCall = zip(plan.calls, replies).map { indices, reply in Self.outcomes(of: reply, writeCount: indices.count) }
        return plan.inBatchOrder(perCall, count: writes.count, missing: .failure(RedisError(.protocolError, "fewer replies than script calls")))
    }

    /// Whether a write the node script failed is written again by slot: every answer of the
    /// server (a key not served there now, a redirection or `TRYAGAIN` not resolved, `OOM` for
    /// the whole call, a server that cannot run the script), since the per-slot script's answer
    /// is the one a batch always had. Not a lost connection, a timeout or a garbled reply:
    /// the cluster client already tried again, and a second try would only spend the deadline.
    static func isRewrittenBySlot(_ error: RedisError) -> Bool {
        switch error.kind {
        case .server, .clusterRedirect: true
        default: false
        }
    }

    /// A server that cannot compile or run a script with flags (Redis before 7: "Error compiling
    /// script"; an unknown flag): the node script is not tried again in this process.
    static func refusesNodeScript(_ error: RedisError) -> Bool {
        guard case .server(code: "ERR") = error.kind else { return false }
        let message = error.message.lowercased()
        return message.contains("compiling script") || message.contains("shebang") || message.contains("unexpected engine")
    }
}
