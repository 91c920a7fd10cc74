import CCrashTrace

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

    /// Like `emit`, but written once the invocation's answer is posted, so the caller does not
    /// wait for the write (an invocation's metric line): the runtime loop writes it right after
    /// the `/response` or `/error` post, before it asks for the next invocation. Never lost: a
    /// crash before then writes it ahead of the crash line, a process that exits first writes it
    /// at exit, and a second line held before the first was written pushes the first out.
    public static func emitAfterAnswer(_ bytes: [UInt8], to descriptor: Int32) {
        let held = bytes.withUnsafeBytes { held_output_hold(descriptor, $0.baseAddress, $0.count) }
        if held != 0 { emit(bytes, to: descriptor) }
    }

    /// Writes what `emitAfterAnswer` held, if anything (the loop, after each post).
    static func writeHeldOutput() {
        held_output_write()
    }

    static func emitLine(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        emit(bytes, to: descriptor)
    }
}
