import Foundation

/// What /proc says about a running process: memory and open descriptors, for leak checks on the
/// real binaries (Linux only, like Lambda).
public enum ProcessStatus {
    /// Resident set size now (`VmRSS`), in KiB.
    public static func residentKiB(of pid: pid_t) -> Int? {
        statusField("VmRSS", of: pid)
    }

    /// Peak resident set size (`VmHWM`), in KiB.
    public static func peakResidentKiB(of pid: pid_t) -> Int? {
        statusField("VmHWM", of: pid)
    }

    /// The targets of the process's open descriptors ("socket:[123]", "/dev/null", ...), by number.
    public static func openDescriptors(of pid: pid_t) -> [Int: String]? {
        let folder = "/proc/\(pid)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
        var descriptors: [Int: String] = [:]
        for name in names {
            guard let number = Int(name) else { continue }
            descriptors[number] = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\(name)")) ?? "?"
        }
        return descriptors
    }

    private static func statusField(_ name: String, of pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(separator: " ").first ?? "")
        }
        return nil
    }
}
