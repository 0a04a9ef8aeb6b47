"""Locks (leases) and rate limits from Python."""

from __future__ import annotations

import re
import time

import pytest

from redis_manager import LockLost, LockNotAcquired, RedisManager, RedisManagerValueError

pytestmark = pytest.mark.redis


def test_lock_value_is_a_lease_without_a_ttl(manager: RedisManager, prefix: str) -> None:
    result = manager.acquire_lock("campaign_123", ttl=30)
    assert result.acquired and re.fullmatch(r"[0-9a-f]{32}", result.token)
    raw = manager.client("default")
    assert raw.pttl(f"{prefix}lock:campaign_123") == -1
    assert raw.get(f"{prefix}lock:campaign_123") == f"{result.expires_at_ms}:{result.token}"
    held = manager.acquire_lock("campaign_123")
    assert not held.acquired and held.token is None and 29_000 < held.held_for_ms <= 30_000
    assert manager.release_lock("campaign_123", "not-the-token") == "notOwner"
    assert manager.extend_lock("campaign_123", result.token, ttl=60).extended
    assert manager.release_lock("campaign_123", result.token) == "released"
    assert manager.release_lock("campaign_123", result.token) == "notHeld"


def test_an_ended_lease_is_taken_over(manager: RedisManager) -> None:
    crashed = manager.acquire_lock("c", ttl=0.1)
    time.sleep(0.15)
    taken = manager.acquire_lock("c", ttl=5)
    assert taken.acquired and taken.took_over
    assert manager.release_lock("c", crashed.token) == "notOwner"


def test_waiting_for_a_lock(manager: RedisManager) -> None:
    manager.acquire_lock("c", ttl=0.3)
    started = time.monotonic()
    result = manager.acquire_lock("c", ttl=5, wait=2, retry_interval=0.05)
    assert result.acquired and result.attempts > 1 and 0.2 < time.monotonic() - started < 1.5


def test_the_lock_context_manager(manager: RedisManager) -> None:
    with manager.lock("c", ttl=5) as held:
        with pytest.raises(LockNotAcquired):
            with manager.lock("c", wait=0.1):
                pass
    assert held.release_outcome == "released"
    with pytest.raises(LockLost):
        with manager.lock("c", ttl=0.1):
            time.sleep(0.2)
    with manager.lock("c", ttl=0.2, auto_extend=True) as kept:
        time.sleep(0.5)
        assert not manager.acquire_lock("c").acquired
    assert kept.release_outcome == "released"
    # An exception in the block is not masked by the release.
    with pytest.raises(KeyError):
        with manager.lock("c"):
            raise KeyError("boom")
    assert manager.acquire_lock("c").acquired


def test_the_seeds_foreign_lock_blocks_until_redis_expires_it(manager: RedisManager, prefix: str) -> None:
    manager.client("default").set(f"{prefix}lock:campaign_9", "worker_1", nx=True, px=300)
    assert not manager.acquire_lock("campaign_9").acquired
    assert manager.release_lock("campaign_9", "worker_1") == "released"


def test_rate_limits(manager: RedisManager, prefix: str) -> None:
    results = [manager.rate_limit("api_linkedin", max_requests=3, window_seconds=2) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    assert results[3].retry_after_ms > 1500 and results[3].reset_at.endswith("Z")
    key = f"{prefix}ratelimit:api_linkedin"
    raw = manager.client("rate_limit")
    assert raw.zcard(key) == 3 and 1500 < raw.pttl(key) <= 2000
    status = manager.rate_limit("api_linkedin", 3, 2, consume=False)
    assert not status.allowed and status.used == 3
    assert manager.check_rate_limit("other", max_requests=1, window_seconds=60)
    assert not manager.check_rate_limit("other", max_requests=1, window_seconds=60)
    assert manager.reset_rate_limit("other") and manager.check_rate_limit("other", 1, 60)


def test_sweeping_ended_leases(manager: RedisManager, prefix: str) -> None:
    manager.acquire_lock("crashed", ttl=0.05)
    live = manager.acquire_lock("live", ttl=30)
    time.sleep(0.1)
    found = manager.sweep_expired_locks(dry_run=True)
    assert [f["key"] for f in found] == [f"{prefix}lock:crashed"] and found[0]["endedMsAgo"] >= 40
    assert manager.client("default").exists(f"{prefix}lock:crashed") == 1
    assert len(manager.sweep_expired_locks()) == 1
    assert manager.client("default").exists(f"{prefix}lock:crashed") == 0
    assert manager.release_lock("live", live.token) == "released"


def test_retry_after_in_seconds(manager: RedisManager) -> None:
    manager.rate_limit("k", 1, 10)
    limited = manager.rate_limit("k", 1, 10)
    assert not limited.allowed and 9 < limited.retry_after <= 10


def test_token_bucket_and_fixed_window_share_the_node_scripts(manager: RedisManager, prefix: str) -> None:
    raw = manager.client("rate_limit")
    bucket = [manager.rate_limit("tb", algorithm="token_bucket", burst=3, refill_per_second=0.001) for _ in range(4)]
    assert [r.allowed for r in bucket] == [True, True, True, False]
    assert [r.remaining for r in bucket] == [2, 1, 0, 0] and bucket[3].algorithm == "token_bucket"
    assert 999_000 < bucket[3].retry_after_ms <= 1_000_000 and bucket[0].window_ms == 3_000_000
    assert raw.type(f"{prefix}ratelimit:tb") == "hash"
    fixed = [manager.rate_limit("fw", 2, 86400, algorithm="fixed_window") for _ in range(3)]
    assert [r.allowed for r in fixed] == [True, True, False]
    assert fixed[2].reset_at_ms % 86_400_000 == 0 and fixed[2].reset_at.endswith("T00:00:00.000Z")
    assert manager.rate_limit("fw", 2, 86400, consume=False, algorithm="fixed_window").used == 2
    assert manager.reset_rate_limit("fw") and manager.rate_limit("fw", 2, 86400, algorithm="fixed_window").used == 1
    with pytest.raises(RedisManagerValueError):
        manager.rate_limit("tb", algorithm="token_bucket", burst=3)
    with pytest.raises(RedisManagerValueError):
        manager.rate_limit("x", algorithm="leaky_bucket")


def test_waiting_for_a_rate_limit(manager: RedisManager, prefix: str) -> None:
    raw = manager.client("rate_limit")
    key = f"{prefix}ratelimit:w"
    waiters = key + ":waiters:{" + key + "}"
    assert manager.wait_for_rate_limit("w", 1, 60, max_wait_seconds=0).allowed
    # Still limited when the wait runs out; the ticket is gone, the refused request not counted.
    gave_up = manager.wait_for_rate_limit("w", 1, 60, max_wait_seconds=0.05)
    assert not gave_up.allowed and gave_up.waited >= 0.05 and gave_up.retry_after_ms > 0
    assert raw.exists(waiters) == 0 and raw.zcard(key) == 1
    # A token every 20 ms: the second caller waits for the refill and gets through.
    assert manager.wait_for_rate_limit("fast", max_wait_seconds=5, algorithm="token_bucket", burst=1, refill_per_second=50).allowed
    admitted = manager.wait_for_rate_limit("fast", max_wait_seconds=5, algorithm="token_bucket", burst=1, refill_per_second=50)
    assert admitted.allowed and admitted.waited > 0


def test_waiter_keys_match_the_node() -> None:
    from redis_manager.rate_limit import waiter_keys
    # The same names as platform/rate-limit.ts rateLimitWaiterKeys (test/nodes/rate-limit-wait.test.ts).
    assert waiter_keys("ratelimit:api_x") == ("ratelimit:api_x:waiters:{ratelimit:api_x}", "ratelimit:api_x:leases:{ratelimit:api_x}")
    assert waiter_keys("ratelimit:{acct}:api") == ("ratelimit:{acct}:api:waiters", "ratelimit:{acct}:api:leases")
    assert waiter_keys("ratelimit:a}b")[0] == "ratelimit:a}b:waiters" and waiter_keys("ratelimit:a{b")[1] == "ratelimit:a{b:leases"
