/// A cluster node as the client reaches it: a host (name or IP literal) and a port.
public struct NodeAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` as redirections write it; the port follows the last colon, so an IPv6
    /// literal (`::1:7000`, or `[::1]:7000`) keeps its own colons. nil when there is no valid port.
    public init?(parsing text: Substring) {
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.init(host: String(host), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func < (left: NodeAddress, right: NodeAddress) -> Bool {
        (left.host, left.port) < (right.host, right.port)
    }
}
