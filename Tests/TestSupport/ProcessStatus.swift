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
        // Read to the end: /proc files report a size of 0, which size-based readers trust.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/status"),
            let data = try? handle.readToEnd()
        else { return nil }
        try? handle.close()
        let status = String(decoding: data, as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmRSS:\t   12345 kB": a tab, padding, the number, the unit.
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}
