#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to a file descriptor. Lambda forwards stdout to CloudWatch line by line, and a
/// piped stdout is block-buffered in the C library: writing each line with one `write(2)` makes
/// every line reach the platform at once, and lines from different threads never interleave.
/// Public for handlers' own stdout lines (CloudWatch EMF metrics), which need the same guarantees.
public enum StandardStreams {
    public static let output: Int32 = 1
    public static let error: Int32 = 2

    public static func emit(_ bytes: [UInt8], to descriptor: Int32) {
        writeFully(bytes) { write(descriptor, $0, $1) }
    }

    static func emitLine(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        emit(bytes, to: descriptor)
    }
}
