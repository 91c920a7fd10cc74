// RedisPool: see README.
