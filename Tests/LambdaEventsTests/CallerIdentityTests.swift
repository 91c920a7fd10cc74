import LambdaEvents
import Testing

@Suite struct CallerIdentityTests {
    private func identity(_ authorizer: String) throws -> CallerIdentity? {
        CallerIdentity(requestContext: try JSONParser.parse(Array(#"{"http":{"method":"GET"},"authorizer":\#(authorizer)}"#.utf8)))
    }

    @Test func readsTheJWTSubject() throws {
        #expect(try identity(#"{"jwt":{"claims":{"sub":"user-42","aud":"x"},"scopes":null}}"#) == .jwtSubject("user-42"))
    }

    @Test func readsTheCognitoIdentityOfAnIAMRequest() throws {
        let authorizer =
            #"{"iam":{"userArn":"arn:aws:sts::1:assumed-role/r/CognitoIdentityCredentials","cognitoIdentity":{"identityId":"us-east-1:abc","amr":[]}}}"#
        #expect(try identity(authorizer) == .cognitoIdentity("us-east-1:abc"))
    }

    @Test func anIAMRequestWithoutCognitoIsAPrincipal() throws {
        #expect(try identity(#"{"iam":{"userArn":"arn:aws:iam::1:role/service","cognitoIdentity":null}}"#) == .iamPrincipal("arn:aws:iam::1:role/service"))
    }

    @Test(arguments: [#"null"#, #"{}"#, #"{"jwt":{"claims":{"sub":42}}}"#, #"{"jwt":{"claims":{"sub":""}}}"#, #"{"lambda":{"user":"x"}}"#, #"{"iam":"x"}"#])
    func noUsableIdentityIsNil(_ authorizer: String) throws {
        #expect(try identity(authorizer) == nil)
    }

    @Test func aRequestWithoutAuthorizerHasNoCaller() throws {
        #expect(CallerIdentity(requestContext: try JSONParser.parse(Array(#"{"http":{"method":"GET"}}"#.utf8))) == nil)
    }
}
