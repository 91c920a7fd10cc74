import Foundation

/// Counts this process's file descriptors that are TCP connections to a given port, by matching
/// the socket inodes in /proc/self/fd with /proc/net/tcp{,6}. Other tests running in parallel
/// talk to other ports, so the count is exact where a total of open descriptors would not be.
enum SocketCensus {
    static func descriptorsConnected(toPort port: Int) -> Int {
        let inodes = connectionInodes(remotePort: port)
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.filter { descriptor in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"),
                target.hasPrefix("socket:[")
            else { return false }
            return inodes.contains(String(target.dropFirst(8).dropLast()))
        }.count
    }

    private static func connectionInodes(remotePort: Int) -> Set<String> {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: procfs files report a size of 0 and come one page per read.
            guard let data = FileHandle(forReadingAtPath: table)?.readDataToEndOfFile() else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, let portHex = fields[2].split(separator: ":").last,
                    Int(portHex, radix: 16) == remotePort, fields[9] != "0"
                else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        return inodes
    }
}
