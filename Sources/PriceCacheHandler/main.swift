import HandlerCore

CacheEventHandler.run(name: "PriceCacheHandler") { store in PriceFunction(store: store, now: { .now }) }
