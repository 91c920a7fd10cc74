#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an `--event` argument: a file, or standard input for `-`.
enum EventFile {
    struct ReadFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws(ReadFailure) -> [UInt8] {
        if path == "-" { return try readAll(from: 0, named: "standard input") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadFailure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        return try readAll(from: descriptor, named: path)
    }

    private static func readAll(from descriptor: Int32, named name: String) throws(ReadFailure) -> [UInt8] {
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return contents }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadFailure(description: "cannot read \(name): \(String(cString: strerror(errno)))")
            }
            contents.append(contentsOf: chunk[..<count])
            // Lambda refuses larger events; refusing here keeps `--event /dev/zero` from eating memory.
            if contents.count > LocalRuntimeAPI.payloadLimit {
                throw ReadFailure(description: "\(name) is larger than Lambda's 6 MB payload limit")
            }
        }
    }
}
