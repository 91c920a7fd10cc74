import Testing

@Test func placeholder_RedisPoolTests() {}
