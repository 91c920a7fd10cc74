/// What a cluster node's error reply asks the client to do (Redis Cluster specification,
/// "Redirection and resharding"). Pure, so each rule is tested without a server.
enum ClusterReply: Equatable {
    /// `MOVED slot host:port`: the slot lives on that node now; update the table, resend there.
    case moved(slot: Int, node: NodeAddress)
    /// `ASK slot host:port`: the slot is being migrated and this key may already be on that
    /// node: send `ASKING` and the command there, once; the table does not change.
    case ask(slot: Int, node: NodeAddress)
    /// `TRYAGAIN` (a multi-key request during resharding) or `CLUSTERDOWN` (the slot is not
    /// served right now, a failover is under way): nothing ran; try again after a backoff.
    case tryLater
    /// Anything else is the command's own answer.
    case final

    static func classify(_ error: RedisError) -> ClusterReply {
        switch error.kind {
        case .clusterRedirect:
            let words = error.message.split(separator: " ", maxSplits: 3)
            guard words.count >= 3, let slot = Int(words[1]), (0..<KeySlot.count).contains(slot),
                let node = NodeAddress(parsing: words[2])
            else { return .final }
            return words[0] == "ASK" ? .ask(slot: slot, node: node) : .moved(slot: slot, node: node)
        case .server(code: "CLUSTERDOWN"), .server(code: "TRYAGAIN"):
            return .tryLater
        default:
            return .final
        }
    }
}
