import Testing

@Test func placeholder_HandlerTests() {}
