/// How a batch of writes is cut into script calls against a cluster: the writes are grouped (by
/// hash slot, since a script call's declared keys must share one, or by node), each group keeps
/// the batch's order (a key written twice in one batch is written in order, so latest-wins
/// inside the script sees the same sequence as on a single node), and a group longer than the
/// per-call limit is cut. Pure: which call holds which write, nothing sent.
struct GroupedBatchPlan: Equatable {
    /// Per script call, the indexes of its writes in the batch, in batch order.
    let calls: [[Int]]

    /// `groupOf[i]`: the group of write i (its slot, or its node's number).
    init(groupOf: [Int], maximumPerCall: Int) {
        var groups: [[Int]] = []
        var openGroup: [Int: Int] = [:]
        for (index, group) in groupOf.enumerated() {
            if let position = openGroup[group], groups[position].count < maximumPerCall {
                groups[position].append(index)
            } else {
                openGroup[group] = groups.count
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
