/// Which primary serves each of the 16,384 slots: plain data, made from a topology reply and
/// patched by `MOVED`, never by anything else (`ASK` changes nothing here).
public struct SlotTable: Sendable, Equatable {
    /// Every primary that serves at least one slot (sorted when built; a `MOVED` to a new node
    /// appends it, so the indexes in `owners` stay valid).
    public private(set) var primaries: [NodeAddress]
    /// Each primary's replicas, for refreshing the table when the primaries cannot answer.
    public let replicas: [NodeAddress]
    /// Per slot, an index into `primaries`, or `unassigned`.
    private var owners: [UInt16]
    private static let unassigned = UInt16.max

    /// `ranges`: each primary's inclusive slot ranges. A slot claimed twice goes to the later
    /// claim (a topology reply never does that; a patched table may).
    public init(ranges: [(primary: NodeAddress, slots: ClosedRange<Int>)], replicas: [NodeAddress] = []) {
        let primaries = Array(Set(ranges.map(\.primary))).sorted()
        var owners = [UInt16](repeating: Self.unassigned, count: KeySlot.count)
        for (primary, slots) in ranges {
            guard let index = primaries.firstIndex(of: primary) else { continue }
            let clamped = slots.clamped(to: 0...(KeySlot.count - 1))
            for slot in clamped { owners[slot] = UInt16(index) }
        }
        self.primaries = primaries
        self.replicas = replicas.filter { !primaries.contains($0) }
        self.owners = owners
    }

    /// The primary serving `slot`, nil when no node serves it (the cluster is down for it).
    public func primary(for slot: Int) -> NodeAddress? {
        guard (0..<KeySlot.count).contains(slot) else { return nil }
        let owner = owners[slot]
        return owner == Self.unassigned ? nil : primaries[Int(owner)]
    }

    /// Slots not served by any primary.
    public var unassignedSlotCount: Int {
        owners.count { $0 == Self.unassigned }
    }

    /// The table after `MOVED slot node`: that slot now lives on `node` (a primary the table may
    /// not know yet). The rest of the table is refreshed separately, at most once per interval.
    public func moving(slot: Int, to node: NodeAddress) -> SlotTable {
        guard (0..<KeySlot.count).contains(slot) else { return self }
        var copy = self
        if let index = copy.primaries.firstIndex(of: node) {
            copy.owners[slot] = UInt16(index)
        } else {
            copy.primaries.append(node)
            copy.owners[slot] = UInt16(copy.primaries.count - 1)
        }
        return copy
    }
}
