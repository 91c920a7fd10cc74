import LambdaEvents
import PriceCache

/// Whether a caller may read or write `session:{user_id}`: only its own session.
///
/// `AWS_IAM` or a JWT authorizer only proves that the caller may call the API; which user it is
/// comes from the identity API Gateway puts in the request context:
/// - behind a JWT authorizer, the token's `sub` must equal `{user_id}`;
/// - under `AWS_IAM`, the caller must hold Cognito identity pool credentials, and `{user_id}` is
///   its identity id without the Region prefix (`us-east-1:6f1c...` is user `6f1c...`): a key part
///   may not hold `:`, and an identity pool lives in one Region, so the prefix tells nothing apart.
/// Anything else (no identity, a plain IAM role or user) is refused: a session belongs to an end
/// user, and a refusal is the only safe answer when the caller's user is unknown.
enum SessionAuthorization {
    enum Decision: Equatable {
        case allowed
        case forbidden(reason: String)
    }

    static func decide(userID: Identifier, caller: CallerIdentity?) -> Decision {
        guard let caller else {
            return .forbidden(
                reason: "The request carries no authenticated user (a JWT subject or a Cognito identity); a session can only be used by its own user.")
        }
        let callerUser: Substring
        switch caller {
        case .jwtSubject(let subject):
            callerUser = Substring(subject)
        case .cognitoIdentity(let identityID):
            guard let separator = identityID.firstIndex(of: ":") else {
                return .forbidden(reason: "The caller's Cognito identity id is not of the form region:id.")
            }
            callerUser = identityID[identityID.index(after: separator)...]
        case .iamPrincipal:
            return .forbidden(reason: "The request is signed by an IAM principal that is no Cognito identity; sessions belong to end users.")
        }
        guard callerUser == userID.text else {
            return .forbidden(reason: "Session \(userID) belongs to another user; a caller may only use its own session.")
        }
        return .allowed
    }

    /// The 403 answer for a refusal, nil when allowed.
    static func refusal(userID: Identifier, caller: CallerIdentity?) -> HTTPAPIResponse? {
        guard case .forbidden(let reason) = decide(userID: userID, caller: caller) else { return nil }
        return .error(403, code: "forbidden", message: reason)
    }
}
