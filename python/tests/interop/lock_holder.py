"""A Python lock holder for test/python/locks-rate-limits.test.ts: takes one lock `rounds`
times through redis_manager and records, on the Redis clock, when each hold began and ended.

argv: lock name, list key for the intervals (default DB), rounds, hold ms."""

from __future__ import annotations

import os
import sys
import time

from redis_manager import get_redis_manager


def server_ms(client) -> int:
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


def main() -> None:
    name, record, rounds, hold_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    manager = get_redis_manager()
    client = manager.client("default")
    for _ in range(rounds):
        with manager.lock(name, ttl=5, wait=30, retry_interval=0.005):
            began = server_ms(client)
            time.sleep(hold_ms / 1000)
            client.rpush(record, f"py:{os.getpid()} {began} {server_ms(client)}")


if __name__ == "__main__":
    main()
