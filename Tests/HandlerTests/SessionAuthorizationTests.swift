import LambdaEvents
import PriceCache
import Testing
@testable import PriceCacheHandler

@Suite struct SessionAuthorizationTests {
    private func decide(_ user: String, _ caller: CallerIdentity?) throws -> SessionAuthorization.Decision {
        SessionAuthorization.decide(userID: try Identifier(user, field: "user_id"), caller: caller)
    }

    @Test func theOwnUserIsAllowed() throws {
        #expect(try decide("user-42", .jwtSubject("user-42")) == .allowed)
        #expect(try decide("6f1c", .cognitoIdentity("eu-west-1:6f1c")) == .allowed)
    }

    @Test func anythingElseIsForbidden() throws {
        #expect(try decide("user-42", .jwtSubject("user-4")) != .allowed)
        #expect(try decide("user-42", .jwtSubject("USER-42")) != .allowed)
        #expect(try decide("6f1c", .cognitoIdentity("6f1c")) != .allowed)  // not region:id
        #expect(try decide("6f1c", .cognitoIdentity("eu-west-1:6f1c2")) != .allowed)
        #expect(try decide("eu-west-1", .cognitoIdentity("eu-west-1:6f1c")) != .allowed)
        #expect(try decide("user-42", .iamPrincipal("arn:aws:iam::123456789012:user/user-42")) != .allowed)
        #expect(try decide("user-42", nil) != .allowed)
    }
}
