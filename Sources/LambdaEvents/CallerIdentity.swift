/// Who API Gateway authenticated for an HTTP API request, read from `requestContext.authorizer`
/// (payload format 2.0). API Gateway writes that block itself after checking the caller: a client
/// cannot set it, so it is the only trustworthy statement of who is asking.
public enum CallerIdentity: Sendable, Equatable {
    /// A JWT authorizer accepted the token: its subject (`authorizer.jwt.claims.sub`).
    case jwtSubject(String)
    /// An `AWS_IAM` request signed with Cognito identity pool credentials:
    /// `authorizer.iam.cognitoIdentity.identityId` (`us-east-1:6f1c...`).
    case cognitoIdentity(String)
    /// An `AWS_IAM` request signed by a principal that is no Cognito identity (a role or user of
    /// an account): `authorizer.iam.userArn`. Such a caller is a service, not an end user.
    case iamPrincipal(String)

    /// The identity in an event's `requestContext.authorizer`, or nil when API Gateway
    /// authenticated nobody (no authorizer on the route, or a hand-written event). Members of the
    /// wrong type count as absent: the result is then nil, never a guess.
    public init?(requestContext: JSONValue) {
        guard let authorizer = requestContext["authorizer"] else { return nil }
        if let subject = authorizer["jwt"]?["claims"]?["sub"]?.stringValue, !subject.isEmpty {
            self = .jwtSubject(subject)
        } else if let iam = authorizer["iam"], iam.objectMembers != nil {
            if let identityID = iam["cognitoIdentity"]?["identityId"]?.stringValue, !identityID.isEmpty {
                self = .cognitoIdentity(identityID)
            } else {
                self = .iamPrincipal(iam["userArn"]?.stringValue ?? "")
            }
        } else {
            return nil
        }
    }
}
