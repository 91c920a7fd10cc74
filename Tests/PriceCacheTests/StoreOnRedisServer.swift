import RedisPool
import TestSupport
@testable import PriceCache

/// What the store suites share: a redis-server of their own, a client of it and the store over
/// that client, the server stopped with the suite instance.
class StoreOnRedisServer {
    let server: RedisServer
    let client: RedisClient
    let store: CacheStore

    init() throws {
        server = try RedisServer.start()
        client = try RedisClient(configuration: RedisConfiguration(endpoint: server.host, port: server.port, useTLS: false))
        store = CacheStore(client: client)
    }

    deinit {
        server.stop()
    }
}
