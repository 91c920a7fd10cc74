import Foundation

/// A hosts file for one function process (see `FunctionProcess(hostsFile:)`): names the test
/// points at addresses and moves, as ElastiCache moves its primary endpoint's name on failover.
final class HostsFile: @unchecked Sendable {
    let path: String

    init(_ entries: [String: String]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("hosts-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        try point(entries)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Rewrites the file in place (same inode: the function's bind mount sees the change).
    func point(_ entries: [String: String]) throws {
        let text =
            "127.0.0.1 localhost\n::1 localhost ip6-localhost\n"
            + entries.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)\n" }.joined()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
    }
}
