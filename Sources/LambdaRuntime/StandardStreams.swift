#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to a file descriptor. Lambda forwards stdout to CloudWatch line by line, and a
/// piped stdout is block-buffered in the C library: writing each line with one `write(2)` makes
/// every line reach the platform at once, and lines from different threads never interleave.
enum StandardStreams {
    static let output: Int32 = 1
    static let error: Int32 = 2

    static func emit(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = write(descriptor, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // the stream is gone: nothing useful can be done with a log line
                }
            }
        }
    }

    static func emitLine(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        emit(bytes, to: descriptor)
    }
}
