import TestSupport

extension RedisServer {
    /// Calls of one command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    func calls(of command: String) throws -> Int {
        let line = try cli("INFO", "commandstats").split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("cmdstat_\(command.lowercased()):") }
        guard let line, let calls = line.split(separator: ",").first?.split(separator: "=").last else { return 0 }
        return Int(calls) ?? -1
    }

    /// Connections accepted since start (the asking redis-cli's own included).
    func connectionsReceived() throws -> Int {
        let line = try cli("INFO", "stats").split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("total_connections_received:") }
        return line.flatMap { Int($0.split(separator: ":")[1]) } ?? -1
    }

    func resetStatistics() throws {
        try cli("CONFIG", "RESETSTAT")
    }
}
