import Testing

@Test func placeholder_LambdaEventsTests() {}
