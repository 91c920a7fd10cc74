import Foundation

/// How many inputs a fuzz test runs: the full count (the suite's million) unless `FUZZ_SCALE`
/// shrinks it, as scripts/test-sanitizers.sh does for its slower instrumented runs.
enum FuzzBudget {
    static func inputs(_ full: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment["FUZZ_SCALE"], let scale = Double(text),
            scale > 0, scale <= 1
        else { return full }
        return max(1_000, Int(Double(full) * scale))
    }
}
