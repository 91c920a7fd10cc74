import Foundation

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks and listening with `backlog`: the
/// start of every fake peer these tests run (a silent one, a hostile one, one that never accepts).
/// The descriptor is the caller's to close.
func loopbackListener(backlog: Int32) throws -> (descriptor: Int32, port: Int, address: sockaddr_in) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard listener >= 0 else { throw POSIXError(.EMFILE) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let listening = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, length) == 0 && listen(listener, backlog) == 0 && getsockname(listener, $0, &length) == 0
        }
    }
    guard listening else {
        close(listener)
        throw POSIXError(.EADDRNOTAVAIL)
    }
    return (listener, Int(UInt16(bigEndian: address.sin_port)), address)
}
