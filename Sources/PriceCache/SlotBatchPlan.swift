import RedisPool

/// How a batch of writes is cut into script calls against a cluster, where one script call may
/// only name keys of one hash slot (`CROSSSLOT` otherwise): the writes are grouped by slot, each
/// group keeps the batch's order (a key written twice in one batch is written in order, so
/// latest-wins inside the script sees the same sequence as on a single node), and a group longer
/// than the per-call limit is cut. Pure: which call holds which write, nothing sent.
struct SlotBatchPlan: Equatable {
    /// Per script call, the indexes of its writes in the batch, in batch order.
    let calls: [[Int]]

    init(keySlots: [Int], maximumPerCall: Int) {
        var groups: [[Int]] = []
        var groupOfSlot: [Int: Int] = [:]
        for (index, slot) in keySlots.enumerated() {
            if let group = groupOfSlot[slot], groups[group].count < maximumPerCall {
                groups[group].append(index)
            } else {
                groupOfSlot[slot] = groups.count
                groups.append([index])
            }
        }
        calls = groups
    }

    /// Each call's per-write outcomes put back in batch order.
    func inBatchOrder<Outcome>(_ perCall: [[Outcome]], count: Int, missing: Outcome) -> [Outcome] {
        var ordered = Array(repeating: missing, count: count)
        for (indices, outcomes) in zip(calls, perCall) {
            for (index, outcome) in zip(indices, outcomes) {
                ordered[index] = outcome
            }
        }
        return ordered
    }
}

extension CacheStore {
    /// The cluster form of `write`: one script call per slot group (`SlotBatchPlan`); the client
    /// sends each node its calls as one pipeline.
    func writeBySlot(_ writes: [CacheWrite], deadline: ContinuousClock.Instant?) throws(RedisError) -> [Result<WriteOutcome, RedisError>] {
        let plan = SlotBatchPlan(keySlots: writes.map { KeySlot.of($0.key) }, maximumPerCall: Self.maximumWritesPerScriptCall)
        let calls = plan.calls.map { indices in CacheWrite.scriptCall(for: indices.map { writes[$0] }[...]) }
        let replies = try client.runPipelined(CacheWrite.script, calls: calls, deadline: deadline)
        let perCall = zip(plan.calls, replies).map { indices, reply in Self.outcomes(of: reply, writeCount: indices.count) }
        return plan.inBatchOrder(perCall, count: writes.count, missing: .failure(RedisError(.protocolError, "fewer replies than script calls")))
    }
}
