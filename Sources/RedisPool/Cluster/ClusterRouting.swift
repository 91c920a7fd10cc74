/// Where each request of one call goes, round after round, and what its replies mean: no I/O,
/// so every routing rule is tested without sockets (`ClusterClient` does the sending).
///
/// A round groups the pending requests by node (one pipeline each): a request goes to its slot's
/// primary in the table, or to the node a redirection named. Replies then either settle a request
/// or send it round again: `MOVED` to the named node (and the table is patched, `takeMoves`),
/// `ASK` to the named node with `ASKING`, `TRYAGAIN`/`CLUSTERDOWN` to the owner after a backoff.
struct ClusterRouting {
    enum Destination: Equatable {
        case slotOwner
        case node(NodeAddress, asking: Bool)
    }

    struct Group: Equatable {
        let node: NodeAddress
        let asking: Bool
        var indices: [Int]
    }

    struct Round: Equatable {
        let groups: [Group]
    }

    /// Enough for every redirection and backoff the client allows, and a bound whatever happens.
    static let maximumRounds = ClusterClient.maximumRedirections + ClusterClient.maximumBackoffRounds + 4

    private let slots: [Int?]
    private var settled: [Result<RESPValue, RedisError>?]
    private var pending: [(index: Int, destination: Destination)]
    private var redirections: [Int]
    private var unreachable: [(index: Int, node: NodeAddress)] = []
    private var moves: [(slot: Int, node: NodeAddress)] = []
    private var rounds = 0
    /// Something this round said the table is out of date.
    private(set) var wantsRefresh = false
    /// Something this round must wait a little before being tried again.
    private(set) var wantsBackoff = false

    /// `slots[i]`: the slot of request i, nil for a request without a key (any primary).
    init(slots: [Int?]) {
        self.slots = slots
        self.settled = Array(repeating: nil, count: slots.count)
        self.pending = slots.indices.map { ($0, .slotOwner) }
        self.redirections = Array(repeating: 0, count: slots.count)
    }

    var hasPending: Bool { !pending.isEmpty }

    /// The groups to send now, nil when nothing is left to send (or the round limit is reached).
    /// A request whose slot no primary serves is answered `CLUSTERDOWN` for now and waits.
    mutating func nextRound(table: SlotTable) -> Round? {
        guard !pending.isEmpty, rounds < Self.maximumRounds else { return nil }
        rounds += 1
        wantsRefresh = false
        wantsBackoff = false
        var groups: [Group] = []
        var waiting: [(index: Int, destination: Destination)] = []
        for (index, destination) in pending {
            let target: (node: NodeAddress, asking: Bool)?
            switch destination {
            case .slotOwner:
                target = (slots[index].map(table.primary(for:)) ?? table.primaries.first).map { ($0, false) }
            case .node(let node, let asking):
                target = (node, asking)
            }
            guard let target else {
                settled[index] = .failure(RedisError(.server(code: "CLUSTERDOWN"), "CLUSTERDOWN no primary serves slot \(slots[index] ?? -1)"))
                waiting.append((index, .slotOwner))
                wantsRefresh = true
                wantsBackoff = true
                continue
            }
            if let position = groups.firstIndex(where: { $0.node == target.node && $0.asking == target.asking }) {
                groups[position].indices.append(index)
            } else {
                groups.append(Group(node: target.node, asking: target.asking, indices: [index]))
            }
        }
        pending = waiting
        return Round(groups: groups)
    }

    /// A group's replies, one per index in order.
    mutating func record(_ replies: [Result<RESPValue, RedisError>], for group: Group) {
        guard replies.count == group.indices.count else {
            let error = RedisError(.protocolError, "\(group.node) answered \(replies.count) replies to \(group.indices.count) requests")
            for index in group.indices { settled[index] = .failure(error) }
            return
        }
        for (index, reply) in zip(group.indices, replies) {
            settled[index] = reply
            guard case .failure(let error) = reply else { continue }
            switch ClusterReply.classify(error) {
            case .final:
                break
            case .moved(let slot, let node):
                guard redirect(index, error) else { continue }
                moves.append((slot, node))
                pending.append((index, .node(node, asking: false)))
                wantsRefresh = true
            case .ask(_, let node):
                guard redirect(index, error) else { continue }
                pending.append((index, .node(node, asking: true)))
            case .tryLater:
                pending.append((index, .slotOwner))
                wantsBackoff = true
                // CLUSTERDOWN during a failover: the next table may name the new primary.
                wantsRefresh = true
            }
        }
    }

    /// The group's node could not be used: its requests fail with `error` unless, once the table
    /// is read again, another primary owns their slot and `mayResend` (the request cannot run twice).
    mutating func recordUnreachable(_ group: Group, error: RedisError, mayResend: Bool) {
        for index in group.indices {
            settled[index] = .failure(error)
            if mayResend { unreachable.append((index, group.node)) }
        }
        wantsRefresh = true
    }

    /// After the refresh: requests of an unreachable node whose slot another primary serves now
    /// go round again.
    mutating func resendUnreachable(to table: SlotTable) {
        for (index, failedNode) in unreachable {
            guard let slot = slots[index], let owner = table.primary(for: slot), owner != failedNode else { continue }
            pending.append((index, .slotOwner))
        }
        unreachable = []
    }

    /// The `MOVED` answers of this round, for the table.
    mutating func takeMoves() -> [(slot: Int, node: NodeAddress)] {
        defer { moves = [] }
        return moves
    }

    /// Every request's last outcome.
    func results() -> [Result<RESPValue, RedisError>] {
        settled.map { $0 ?? .failure(RedisError(.deadlineExceeded, "the caller's deadline passed before the request could be sent")) }
    }

    /// Counts a redirection; false (and a final error) once there were too many.
    private mutating func redirect(_ index: Int, _ error: RedisError) -> Bool {
        redirections[index] += 1
        guard redirections[index] > ClusterClient.maximumRedirections else { return true }
        let reply = error.message.split(separator: " ").prefix(3).joined(separator: " ")
        settled[index] = .failure(RedisError(.clusterRedirect, "\(reply): still redirected after \(ClusterClient.maximumRedirections) redirections"))
        return false
    }
}
