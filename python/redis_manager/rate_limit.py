"""Exact sliding-window rate limits on the node's script (rate-limit-check.lua): one sorted
set per limit at `ratelimit:{key}`, one member per allowed request, timed by the Redis
clock, so Python and n8n checks of one key share one window and together never admit
more than the limit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis

from .health import iso_ms
from .codec import RedisManagerValueError
from .scripts import ScriptRunner

MAX_REQUESTS = 1_000_000
MAX_WINDOW_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class RateLimitResult:
    # Check: this request was let through and counted. Status: a check now would be.
    allowed: bool
    limit: int
    window_ms: int
    # Requests counted in the current window, this one included when it was allowed.
    used: int
    remaining: int
    # 0 when allowed; otherwise ms until a request would be allowed.
    retry_after_ms: int
    # When every counted request has left the window (epoch ms, Redis clock), and as ISO 8601.
    reset_at_ms: int
    reset_at: str
    checked_at_ms: int

    @property
    def retry_after(self) -> float:
        """Seconds to wait, for a Retry-After header or time.sleep()."""
        return self.retry_after_ms / 1000


def rule(max_requests: int, window_seconds: float) -> tuple:
    if isinstance(max_requests, bool) or not isinstance(max_requests, int) or not 1 <= max_requests <= MAX_REQUESTS:
        raise RedisManagerValueError(f"max_requests must be a whole number from 1 to {MAX_REQUESTS}, got {max_requests!r}")
    ok_type = isinstance(window_seconds, (int, float)) and not isinstance(window_seconds, bool)
    window_ms = int(round(window_seconds * 1000)) if ok_type else -1
    if not 1 <= window_ms <= MAX_WINDOW_MS:
        raise RedisManagerValueError(f"window_seconds must be from 0.001 to {MAX_WINDOW_MS // 1000}, got {window_seconds!r}")
    return max_requests, window_ms


def check(client: redis.Redis, scripts: ScriptRunner, key: str, max_requests: int, window_ms: int,
          consume: bool) -> RateLimitResult:
    reply = scripts.run(client, "rate_limit_check", {"limit": key}, {
        "max_requests": max_requests,
        "window_ms": window_ms,
        "consume": "1" if consume else "0",
        # Keeps members unique when two requests land in the same microsecond.
        "nonce": secrets.token_hex(8),
    })
    allowed, used, retry_after_ms, reset_at_ms, now_ms = (int(v) for v in reply[:5])
    return RateLimitResult(
        allowed=allowed == 1,
        limit=max_requests,
        window_ms=window_ms,
        used=used,
        remaining=max(0, max_requests - used),
        retry_after_ms=retry_after_ms,
        reset_at_ms=reset_at_ms,
        reset_at=iso_ms(reset_at_ms),
        checked_at_ms=now_ms,
    )
