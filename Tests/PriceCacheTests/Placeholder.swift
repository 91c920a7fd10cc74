import Testing

@Test func placeholder_PriceCacheTests() {}
