/// Script calls made one at a time while the first ones are already on their way to Redis
/// (`RedisClient.runStreamed`): a caller that decodes a large batch hands over each call as
/// soon as it is built, and Redis runs it while the caller builds the next one.
///
/// Every call made is kept: a retried attempt (the connection was lost) and the `EVAL` sent
/// after `NOSCRIPT` send the very same calls again, and the maker is never asked twice for one.
/// Used by one thread, within one request.
public final class ScriptCallStream {
    public typealias Call = (keys: [[UInt8]], arguments: [[UInt8]])

    /// Makes the next call; nil once there are no more. Dropped after its first nil.
    private var makeNext: (() -> Call?)?
    /// Every call made so far, in order.
    private(set) var made: [Call] = []

    public init(_ makeNext: @escaping () -> Call?) {
        self.makeNext = makeNext
    }

    /// Call `index` (from 0), made now if it was not yet; nil past the last one.
    func call(at index: Int) -> Call? {
        while index >= made.count {
            guard let next = makeNext?() else {
                makeNext = nil
                return nil
            }
            made.append(next)
        }
        return made[index]
    }

    /// Every call, the ones not made yet made now.
    func all() -> [Call] {
        var index = made.count
        while call(at: index) != nil { index += 1 }
        return made
    }
}
