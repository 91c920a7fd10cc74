#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands all of `bytes` to `writeSome` (a `write(2)` or `send(2)`), resuming after partial
/// writes and interruptions. Gives up silently on any other failure: the reader is gone, and
/// neither a log line nor an HTTP answer has anyone left to report to.
func writeFully(_ bytes: [UInt8], with writeSome: (UnsafeRawPointer, Int) -> Int) {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = writeSome(base + offset, buffer.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
