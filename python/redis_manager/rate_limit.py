"""Rate limits on the node's scripts, one per algorithm, at `ratelimit:{key}` on the Redis
clock, so Python and n8n checks of one key share one limit and together never admit more
than it:

- sliding window (rate-limit-check.lua): exact, a sorted set of one member per allowed request;
- token bucket (rate-limit-token-bucket.lua): burst capacity refilled per second, constant memory;
- fixed window (rate-limit-fixed-window.lua): a counter per clock-aligned window, constant memory.

Every script also keeps the key's queue of waiters (tickets in arrival order, each with a
lease), which `wait` joins, as the node's Wait Until Allowed does."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import redis

from .health import iso_ms
from .codec import RedisManagerValueError
from .scripts import ScriptRunner

MAX_REQUESTS = 1_000_000
MAX_COUNTER_LIMIT = 1_000_000_000
MAX_WINDOW_MS = 30 * 24 * 3600 * 1000
MIN_REFILL_PER_SECOND = 0.0001
MAX_REFILL_PER_SECOND = 1_000_000
MAX_WAIT_SECONDS = 24 * 3600
# How long a waiter's ticket outlives the retry time it was promised (the node's WAITER_LEASE_GRACE_MS).
WAITER_LEASE_GRACE_MS = 5000

ALGORITHMS = ("sliding_window", "token_bucket", "fixed_window")
_SCRIPT = {"sliding_window": "rate_limit_check", "token_bucket": "rate_limit_token_bucket",
           "fixed_window": "rate_limit_fixed_window"}


@dataclass(frozen=True)
class Rule:
    algorithm: str
    # Max requests per window, or the token bucket's capacity.
    limit: int
    # The window in ms; for a token bucket the time an empty bucket takes to fill.
    window_ms: int
    refill_per_second: Optional[float] = None


@dataclass(frozen=True)
class RateLimitResult:
    # Check: this request was let through and counted. Status: a check now would be.
    allowed: bool
    limit: int
    window_ms: int
    # Requests counted in the current window (tokens in use), this one included when it was allowed.
    used: int
    # Requests still allowed now that no queued waiter is owed.
    remaining: int
    # 0 when allowed; otherwise ms until a request would be allowed.
    retry_after_ms: int
    # When the full limit is back (epoch ms, Redis clock), and as ISO 8601.
    reset_at_ms: int
    reset_at: str
    checked_at_ms: int
    algorithm: str = "sliding_window"
    # Waiters queued on the key after this check.
    waiting: int = 0
    # wait(): seconds from the first check to the last one.
    waited: float = 0.0

    @property
    def retry_after(self) -> float:
        """Seconds to wait, for a Retry-After header or time.sleep()."""
        return self.retry_after_ms / 1000


def _whole(name: str, value: object, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise RedisManagerValueError(f"{name} must be a whole number from 1 to {top}, got {value!r}")
    return value


def rule(max_requests: int, window_seconds: float) -> Tuple[int, int]:
    """The sliding window's (max_requests, window_ms), checked."""
    window = window_rule("sliding_window", max_requests, window_seconds)
    return window.limit, window.window_ms


def window_rule(algorithm: str, max_requests: int, window_seconds: float) -> Rule:
    top = MAX_COUNTER_LIMIT if algorithm == "fixed_window" else MAX_REQUESTS
    limit = _whole("max_requests", max_requests, top)
    ok_type = isinstance(window_seconds, (int, float)) and not isinstance(window_seconds, bool)
    window_ms = int(round(window_seconds * 1000)) if ok_type else -1
    if not 1 <= window_ms <= MAX_WINDOW_MS:
        raise RedisManagerValueError(f"window_seconds must be from 0.001 to {MAX_WINDOW_MS // 1000}, got {window_seconds!r}")
    return Rule(algorithm, limit, window_ms)


def bucket_rule(burst: int, refill_per_second: float) -> Rule:
    capacity = _whole("burst", burst, MAX_COUNTER_LIMIT)
    ok_type = isinstance(refill_per_second, (int, float)) and not isinstance(refill_per_second, bool)
    if not ok_type or not MIN_REFILL_PER_SECOND <= refill_per_second <= MAX_REFILL_PER_SECOND:
        raise RedisManagerValueError(
            f"refill_per_second must be from {MIN_REFILL_PER_SECOND} to {MAX_REFILL_PER_SECOND}, got {refill_per_second!r}")
    return Rule("token_bucket", capacity, int(round(capacity * 1000 / refill_per_second)), float(refill_per_second))


def make_rule(algorithm: str, max_requests: int, window_seconds: float, burst: Optional[int],
              refill_per_second: Optional[float]) -> Rule:
    if algorithm not in ALGORITHMS:
        raise RedisManagerValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if algorithm == "token_bucket":
        if burst is None or refill_per_second is None:
            raise RedisManagerValueError("the token bucket needs burst and refill_per_second")
        return bucket_rule(burst, refill_per_second)
    return window_rule(algorithm, max_requests, window_seconds)


def waiter_keys(key: str) -> Tuple[str, str]:
    """The queue's keys: they start with the limit key (ACL patterns) and share its Cluster slot
    (platform/rate-limit.ts rateLimitWaiterKeys)."""
    opened = key.find("{")
    closed = key.find("}", opened + 1) if opened >= 0 else -1
    tag = "" if closed > opened + 1 or "{" in key or "}" in key else ":{" + key + "}"
    return key + ":waiters" + tag, key + ":leases" + tag


def _args(limit_rule: Rule, consume: bool, ticket: str, grace_ms: int) -> dict:
    flag = "1" if consume else "0"
    if limit_rule.algorithm == "token_bucket":
        return {"capacity": limit_rule.limit, "refill_per_second": repr(limit_rule.refill_per_second), "consume": flag,
                "ticket": ticket, "lease_ms": grace_ms}
    args = {"max_requests": limit_rule.limit, "window_ms": limit_rule.window_ms, "consume": flag,
            "ticket": ticket, "lease_ms": grace_ms}
    if limit_rule.algorithm == "sliding_window":
        # Keeps members unique when two requests land in the same microsecond.
        args["nonce"] = secrets.token_hex(8)
    return args


def check_rule(client: redis.Redis, scripts: ScriptRunner, key: str, limit_rule: Rule, consume: bool,
               ticket: str = "", grace_ms: int = 0) -> RateLimitResult:
    waiters, leases = waiter_keys(key)
    reply = scripts.run(client, _SCRIPT[limit_rule.algorithm], {"limit": key, "waiters": waiters, "leases": leases},
                        _args(limit_rule, consume, ticket, grace_ms))
    allowed, used, retry_after_ms, reset_at_ms, now_ms, remaining, waiting = (int(v) for v in reply[:7])
    return RateLimitResult(
        allowed=allowed == 1,
        limit=limit_rule.limit,
        window_ms=limit_rule.window_ms,
        used=used,
        remaining=remaining,
        retry_after_ms=retry_after_ms,
        reset_at_ms=reset_at_ms,
        reset_at=iso_ms(reset_at_ms),
        checked_at_ms=now_ms,
        algorithm=limit_rule.algorithm,
        waiting=waiting,
    )


def check(client: redis.Redis, scripts: ScriptRunner, key: str, max_requests: int, window_ms: int,
          consume: bool) -> RateLimitResult:
    """The sliding window's check, as before there was a choice of algorithm."""
    return check_rule(client, scripts, key, Rule("sliding_window", max_requests, window_ms), consume)


def leave(client: redis.Redis, scripts: ScriptRunner, key: str, ticket: str) -> bool:
    waiters, leases = waiter_keys(key)
    return int(scripts.run(client, "rate_limit_leave", {"waiters": waiters, "leases": leases}, {"ticket": ticket})) == 1


def wait(client: redis.Redis, scripts: ScriptRunner, key: str, limit_rule: Rule, max_wait_seconds: float) -> RateLimitResult:
    """Checks and, while limited, waits in the key's queue (arrival order, shared with the node's
    waiters) for up to max_wait_seconds, sleeping the computed retry time between checks. The
    result is the admitting check, or the last refused one when the wait ran out; the ticket is
    removed whenever the wait ends without admission (an exception included)."""
    ticket = secrets.token_hex(12)
    started = time.monotonic()
    deadline = started + max_wait_seconds
    result = check_rule(client, scripts, key, limit_rule, True, ticket, WAITER_LEASE_GRACE_MS)
    try:
        while not result.allowed:
            left = deadline - time.monotonic()
            if left <= 0:
                leave(client, scripts, key, ticket)
                break
            time.sleep(min(result.retry_after_ms / 1000, left))
            result = check_rule(client, scripts, key, limit_rule, True, ticket, WAITER_LEASE_GRACE_MS)
    except BaseException:
        try:
            leave(client, scripts, key, ticket)
        except redis.RedisError:
            pass  # the ticket's lease ends it
        raise
    return replace(result, waited=time.monotonic() - started)
