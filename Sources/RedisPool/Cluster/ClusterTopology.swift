/// Reads a cluster's topology reply into a `SlotTable`: `CLUSTER SHARDS` (Redis 7) and the older
/// `CLUSTER SLOTS`, in the RESP2 shape this client asks for and the RESP3 one (maps), since
/// `RESPValue.arrayValue` reads a map as its keys and values in order.
///
/// Which address a node is reached at, as the commands' documentation says: the preferred
/// `endpoint` (an IP, a host name or `?` for unknown, whatever `cluster-preferred-endpoint-type`
/// chose), else `ip`; an empty endpoint means "the address this command was sent to"
/// (`seedHost`), and a node whose endpoint is unknown is left out. With TLS the `tls-port` is
/// used when the node announces one.
public enum ClusterTopology {
    public static func fromShards(_ reply: RESPValue, seedHost: String, useTLS: Bool) throws(RedisError) -> SlotTable {
        guard let shards = reply.arrayValue else { throw malformed("CLUSTER SHARDS", "not an array") }
        var ranges: [(primary: NodeAddress, slots: ClosedRange<Int>)] = []
        var replicas: [NodeAddress] = []
        for shard in shards {
            let fields = try fieldMap(shard, "CLUSTER SHARDS", "a shard")
            guard let slotBounds = fields["slots"]?.arrayValue, let nodes = fields["nodes"]?.arrayValue else {
                throw malformed("CLUSTER SHARDS", "a shard without slots or nodes")
            }
            guard slotBounds.count % 2 == 0 else { throw malformed("CLUSTER SHARDS", "an odd number of slot bounds") }
            var shardRanges: [ClosedRange<Int>] = []
            for index in stride(from: 0, to: slotBounds.count, by: 2) {
                shardRanges.append(try slotRange(slotBounds[index], slotBounds[index + 1], "CLUSTER SHARDS"))
            }
            var primary: NodeAddress?
            for node in nodes {
                let nodeFields = try fieldMap(node, "CLUSTER SHARDS", "a node")
                guard let address = shardNodeAddress(nodeFields, seedHost: seedHost, useTLS: useTLS) else { continue }
                let role = nodeFields["role"]?.stringValue ?? ""
                // A node the cluster marked failed is neither written to nor asked for the topology.
                guard nodeFields["health"]?.stringValue != "failed" else { continue }
                if role == "master" || role == "primary" {
                    primary = address
                } else {
                    replicas.append(address)
                }
            }
            guard let primary else { continue }  // no reachable primary: its slots stay unassigned
            ranges += shardRanges.map { (primary, $0) }
        }
        return SlotTable(ranges: ranges, replicas: replicas)
    }

    /// `CLUSTER SLOTS`: `[start, end, [host, port, id, ...], replica...]` per range.
    public static func fromSlots(_ reply: RESPValue, seedHost: String) throws(RedisError) -> SlotTable {
        guard let entries = reply.arrayValue else { throw malformed("CLUSTER SLOTS", "not an array") }
        var ranges: [(primary: NodeAddress, slots: ClosedRange<Int>)] = []
        var replicas: [NodeAddress] = []
        for entry in entries {
            guard let parts = entry.arrayValue, parts.count >= 3 else { throw malformed("CLUSTER SLOTS", "a range entry too short") }
            let slots = try slotRange(parts[0], parts[1], "CLUSTER SLOTS")
            let nodes = parts[2...].map { slotsNodeAddress($0, seedHost: seedHost) }
            if let primary = nodes.first ?? nil {
                ranges.append((primary, slots))
            }
            replicas += nodes.dropFirst().compactMap { $0 }
        }
        return SlotTable(ranges: ranges, replicas: replicas)
    }

    // MARK: - Pieces

    private static func fieldMap(_ value: RESPValue, _ command: String, _ what: String) throws(RedisError) -> [String: RESPValue] {
        guard let flat = value.arrayValue, flat.count % 2 == 0 else { throw malformed(command, "\(what) is not a list of name/value pairs") }
        var fields: [String: RESPValue] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].stringValue else { throw malformed(command, "\(what) has a field name that is not a string") }
            fields[name] = flat[index + 1]
        }
        return fields
    }

    private static func shardNodeAddress(_ fields: [String: RESPValue], seedHost: String, useTLS: Bool) -> NodeAddress? {
        let tlsPort = fields["tls-port"].flatMap(number)
        let plainPort = fields["port"].flatMap(number)
        let port = useTLS ? (tlsPort ?? plainPort) : plainPort
        guard let port, (1...65535).contains(port) else { return nil }
        guard let host = reachableHost(endpoint: fields["endpoint"]?.stringValue, fallback: fields["ip"]?.stringValue, seedHost: seedHost) else {
            return nil
        }
        return NodeAddress(host: host, port: port)
    }

    private static func slotsNodeAddress(_ value: RESPValue, seedHost: String) -> NodeAddress? {
        guard let parts = value.arrayValue, parts.count >= 2, let port = number(parts[1]), (1...65535).contains(port) else { return nil }
        // A null host: the endpoint is unknown. An empty one: the node this was asked of.
        guard !parts[0].isNull, let host = reachableHost(endpoint: parts[0].stringValue, fallback: nil, seedHost: seedHost) else {
            return nil
        }
        return NodeAddress(host: host, port: port)
    }

    private static func reachableHost(endpoint: String?, fallback: String?, seedHost: String) -> String? {
        for candidate in [endpoint, fallback] {
            guard let candidate, candidate != "?" else { continue }
            return candidate.isEmpty ? seedHost : candidate
        }
        return nil
    }

    private static func slotRange(_ start: RESPValue, _ end: RESPValue, _ command: String) throws(RedisError) -> ClosedRange<Int> {
        guard let low = number(start), let high = number(end), 0 <= low, low <= high, high < KeySlot.count else {
            throw malformed(command, "a slot range outside 0...16383")
        }
        return low...high
    }

    /// An integer, or a decimal string (some versions answer numbers as strings).
    private static func number(_ value: RESPValue) -> Int? {
        if let integer = value.integerValue { return Int(integer) }
        return value.stringValue.flatMap { Int($0) }
    }

    private static func malformed(_ command: String, _ reason: String) -> RedisError {
        RedisError(.protocolError, "\(command) answered an unexpected topology: \(reason)")
    }
}
