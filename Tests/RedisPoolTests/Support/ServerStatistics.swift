import TestSupport

extension RedisServer {
    /// Calls of one command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    func calls(of command: String) throws -> Int {
        let line = try cli("INFO", "commandstats").split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("cmdstat_\(command.lowercased()):") }
        guard let line, let calls = line.split(separator: ",").first?.split(separator: "=").last else { return 0 }
        return Int(calls) ?? -1
    }

    func resetStatistics() throws {
        try cli("CONFIG", "RESETSTAT")
    }
}
