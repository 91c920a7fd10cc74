/// A byte stream to the server: plain TCP or TLS behind the same four operations (as hiredis
/// plugs TLS in behind its transport functions). Not thread-safe: a connection has one user at
/// a time, the pool makes sure of it.
protocol Transport: AnyObject {
    /// Writes every byte before the deadline or throws.
    func write(_ bytes: [UInt8], deadline: Deadline) throws(RedisError)
    /// Reads at least one byte into `buffer` before the deadline; EOF throws `.connectionClosed`.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(RedisError) -> Int
    /// Whether bytes or an EOF are waiting although no reply is due: a connection in that state
    /// is out of step or dead (typically after the process was frozen) and must not be reused.
    func hasUnexpectedInput() -> Bool
    func close()
}
