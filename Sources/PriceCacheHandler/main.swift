print("PriceCacheHandler")
