"""Python rate-limit checks for test/python/locks-rate-limits.test.ts: `count` checks of one
limit through redis_manager.check_rate_limit, started together with the n8n side; prints
how many were allowed.

argv: limit key, max requests, window seconds, count, start key (the checks begin once it
exists), pause between checks in ms (so both languages' checks interleave)."""

from __future__ import annotations

import sys
import time

from redis_manager import get_redis_manager


def main() -> None:
    key, limit, window, count, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    pause = float(sys.argv[6]) / 1000
    manager = get_redis_manager()
    manager.ping()
    print("ready", flush=True)
    while not manager.client("rate_limit").exists(start):
        time.sleep(0.002)
    allowed = 0
    for _ in range(count):
        allowed += manager.check_rate_limit(key, max_requests=limit, window_seconds=window)
        time.sleep(pause)
    print(allowed)


if __name__ == "__main__":
    main()
