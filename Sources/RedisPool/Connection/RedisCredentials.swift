/// The user and password new connections authenticate with. `description` never shows the password.
public struct RedisCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var username: String
    /// nil: no `AUTH` (a server without a password).
    public var password: String?

    public init(username: String = "default", password: String?) {
        self.username = username
        self.password = password
    }

    public var description: String {
        "RedisCredentials(user: \(username), password: \(password == nil ? "none" : "<redacted>"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }
}

/// Where fresh credentials come from after the server refused the current ones (a rotation
/// changed the password): in a Lambda function, the Secrets Manager secret read again through the
/// Parameters and Secrets extension. The client calls it at most once per
/// `CredentialRefreshPolicy.minimumInterval`, whatever the load.
public protocol RedisCredentialsProvider: Sendable {
    /// The credentials as they are now. A failure's message must not hold a secret.
    func currentCredentials() throws(RedisError) -> RedisCredentials
}

/// When credentials may be read again: at most once per `minimumInterval` for the whole client
/// (a rotation makes every connection attempt fail together; one read must serve them all, and a
/// secret that is simply wrong must not turn into a read per request). Pure, so it is tested alone.
public struct CredentialRefreshPolicy: Sendable, Equatable {
    public static let minimumInterval = Duration.seconds(10)

    /// When the last read started; nil before the first.
    public private(set) var lastRefresh: ContinuousClock.Instant?
    /// Bumped when a read brought different credentials, so an attempt can tell whether they
    /// changed since it started (another thread's read may have fixed them already).
    public private(set) var generation = 0

    public init() {}

    public enum Decision: Equatable, Sendable {
        /// Read the credentials now (the caller then calls `refreshed`).
        case refresh
        /// Another read replaced the credentials since the failed attempt began: retry with them.
        case retryWithNewer
        /// A read happened less than `minimumInterval` ago and brought nothing newer: fail.
        case fail
    }

    /// After an attempt that used credentials of `attemptGeneration` was refused at `now`.
    /// Records the read it allows.
    public mutating func decide(attemptGeneration: Int, now: ContinuousClock.Instant) -> Decision {
        if generation != attemptGeneration { return .retryWithNewer }
        if let lastRefresh, lastRefresh.duration(to: now) < Self.minimumInterval { return .fail }
        lastRefresh = now
        return .refresh
    }

    /// A read returned credentials; when they differ from the ones in use, later attempts use
    /// the new generation.
    public mutating func refreshed(changed: Bool) {
        if changed { generation += 1 }
    }
}

/// The credentials new connections use and when they were last read again, shared by every pool
/// of one deployment (a cluster's nodes too): one rotation, one re-read per environment.
final class CredentialStore: Sendable {
    struct State {
        var credentials: RedisCredentials
        var policy = CredentialRefreshPolicy()
    }

    private let state: ConditionLock<State>

    init(_ credentials: RedisCredentials) {
        state = ConditionLock(State(credentials: credentials))
    }

    func withLock<T>(_ body: (inout State, ConditionLock<State>.Waiter) -> T) -> T {
        state.withLock(body)
    }
}
