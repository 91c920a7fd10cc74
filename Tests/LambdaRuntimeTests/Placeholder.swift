import Testing

@Test func placeholder_LambdaRuntimeTests() {}
