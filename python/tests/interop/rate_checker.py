"""Python rate-limit checks for test/python/locks-rate-limits.test.ts: `count` checks of one
limit through redis_manager.check_rate_limit; prints how many were allowed.

argv: limit key, max requests, window seconds, count."""

from __future__ import annotations

import sys

from redis_manager import get_redis_manager


def main() -> None:
    key, limit, window, count = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    manager = get_redis_manager()
    allowed = sum(manager.check_rate_limit(key, max_requests=limit, window_seconds=window) for _ in range(count))
    print(allowed)


if __name__ == "__main__":
    main()
