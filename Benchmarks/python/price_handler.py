"""The original design's Python stack, as users would deploy it: awslambdaric runs these handlers,
a module-level redis-py client is reused across invocations, and each price update is an HSET of the
fields followed by an EXPIRE (two round trips per update, one per record in a batch)."""
import base64
import json
import os

import redis

PRICE_TTL_SECONDS = 300
FIELDS = ("close", "open", "high", "low", "volume", "timestamp")

_client = None


def get_redis_client():
    global _client
    if _client is None:
        _client = redis.Redis(
            host=os.environ["REDIS_ENDPOINT"],
            port=int(os.environ.get("REDIS_PORT", "6379")),
            ssl=os.environ.get("REDIS_SSL", "true").lower() == "true",
            password=os.environ.get("REDIS_AUTH_TOKEN") or None,
            socket_timeout=5,
            socket_connect_timeout=5,
        )
    return _client


def write_price(client, update):
    mapping = {field: str(update[field]) for field in FIELDS}
    mapping["source"] = update.get("source", "speed_layer")
    key = f"price:{update['symbol']}"
    client.hset(key, mapping=mapping)
    client.expire(key, PRICE_TTL_SECONDS)


def update_price(event, context):
    client = get_redis_client()
    records = event.get("Records")
    if records is None:
        write_price(client, event)
        return {"written": 1}
    failures = []
    for record in records:
        try:
            write_price(client, json.loads(base64.b64decode(record["kinesis"]["data"])))
        except Exception:
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    return {"batchItemFailures": failures}


def echo(event, context):
    return event
