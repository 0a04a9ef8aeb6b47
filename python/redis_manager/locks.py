"""Distributed locks as leases, on the node's lock scripts (lock-*.lua): `lock:{name}` holds
`<lease end, epoch ms on the Redis clock>:<token>` and has no Redis TTL, so volatile-lru can
never evict a held lock, and a Python holder and an n8n holder exclude each other."""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Type

import redis

from .codec import RedisManagerValueError
from .scripts import ScriptRunner

MAX_LOCK_TTL_MS = 24 * 3600 * 1000
MAX_LOCK_WAIT_MS = 10 * 60 * 1000

RELEASE_OUTCOMES = {1: "released", 2: "expired", 0: "notOwner", -1: "notHeld"}
EXTEND_OUTCOMES = {1: "extended", 0: "notOwner", -1: "notHeld", -2: "expired"}


class LockNotAcquired(RuntimeError):
    """Someone else held the lock for the whole wait."""

    def __init__(self, name: str, held_for_ms: Optional[int]) -> None:
        super().__init__(f'lock "{name}" is held by another holder (lease ends in {held_for_ms} ms)')
        self.held_for_ms = held_for_ms


class LockLost(RuntimeError):
    """The lease ended before the release: another holder may have run at the same time."""

    def __init__(self, name: str, outcome: str) -> None:
        super().__init__(f'lock "{name}" was not ours at release ({outcome}): the work ran past its lease')
        self.outcome = outcome


@dataclass(frozen=True)
class LockAcquireResult:
    acquired: bool
    # The token that proves ownership; None when not acquired (the holder's is never shown).
    token: Optional[str]
    # Lease end on the Redis clock (epoch ms); None when not acquired.
    expires_at_ms: Optional[int]
    attempts: int
    # Not acquired: the holder's remaining lease in ms (-1: held with no end).
    held_for_ms: Optional[int] = None
    # Acquired by replacing a lease that ended without a release (its holder crashed).
    took_over: bool = False


@dataclass(frozen=True)
class LockExtendResult:
    extended: bool
    outcome: str
    expires_at_ms: Optional[int]


def new_token() -> str:
    return secrets.token_hex(16)


def lease_ms(seconds: float, label: str = "ttl") -> int:
    ms = int(round(seconds * 1000)) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else -1
    if not 1 <= ms <= MAX_LOCK_TTL_MS:
        raise RedisManagerValueError(f"{label} must be from 0.001 to {MAX_LOCK_TTL_MS // 1000} seconds, got {seconds!r}")
    return ms


def try_acquire(client: redis.Redis, scripts: ScriptRunner, key: str, token: str, ttl_ms: int, attempt: int) -> LockAcquireResult:
    reply = [int(v) for v in scripts.run(client, "lock_acquire", {"lock": key}, {"token": token, "ttl_ms": ttl_ms})]
    if reply[0] == 1:
        return LockAcquireResult(True, token, reply[1], attempt, took_over=len(reply) > 2 and reply[2] == 1)
    return LockAcquireResult(False, None, None, attempt, held_for_ms=reply[1])


def acquire(client: redis.Redis, scripts: ScriptRunner, key: str, ttl_ms: int, wait_ms: int, retry_ms: int,
            token: Optional[str] = None) -> LockAcquireResult:
    """Retries are jittered (contenders do not retry in lockstep) and never sleep past the
    holder's lease end or the wait deadline."""
    token = token or new_token()
    deadline = time.monotonic() + wait_ms / 1000
    attempt = 1
    while True:
        result = try_acquire(client, scripts, key, token, ttl_ms, attempt)
        left_ms = (deadline - time.monotonic()) * 1000
        if result.acquired or left_ms <= 0:
            return result
        jittered = retry_ms * (0.5 + random.random() / 2)
        holder_ends = result.held_for_ms + 1 if result.held_for_ms is not None and result.held_for_ms >= 0 else float("inf")
        time.sleep(max(1, min(jittered, holder_ends, left_ms)) / 1000)
        attempt += 1


def release(client: redis.Redis, scripts: ScriptRunner, key: str, token: str) -> str:
    return RELEASE_OUTCOMES[int(scripts.run(client, "lock_release", {"lock": key}, {"token": token}))]


def extend(client: redis.Redis, scripts: ScriptRunner, key: str, token: str, ttl_ms: int) -> LockExtendResult:
    code, expires = (int(v) for v in scripts.run(client, "lock_extend", {"lock": key}, {"token": token, "ttl_ms": ttl_ms}))
    outcome = EXTEND_OUTCOMES[code]
    return LockExtendResult(code == 1, outcome, expires if code == 1 else None)


def sweep(client: redis.Redis, scripts: ScriptRunner, key: str, dry_run: bool) -> Optional[dict]:
    state, ago = (int(v) for v in scripts.run(client, "lock_sweep", {"lock": key}, {"delete": "0" if dry_run else "1"}))
    return {"key": key, "endedMsAgo": ago} if state == 1 else None


class HeldLock:
    """What `with redis.lock(name):` gives: the lease, extendable; released on exit."""

    def __init__(self, client: redis.Redis, scripts: ScriptRunner, name: str, key: str, ttl_ms: int,
                 wait_ms: int, retry_ms: int, auto_extend: bool) -> None:
        self.name, self.key = name, key
        self._client, self._scripts = client, scripts
        self.ttl_ms, self._wait_ms, self._retry_ms = ttl_ms, wait_ms, retry_ms
        self._auto_extend = auto_extend
        self.token: Optional[str] = None
        self.expires_at_ms: Optional[int] = None
        self.took_over = False
        self.release_outcome: Optional[str] = None
        self._stop = threading.Event()
        self._beat: Optional[threading.Thread] = None

    def extend(self, ttl: Optional[float] = None) -> LockExtendResult:
        ms = self.ttl_ms if ttl is None else lease_ms(ttl)
        result = extend(self._client, self._scripts, self.key, self.token or "", ms)
        if result.extended:
            self.expires_at_ms = result.expires_at_ms
        return result

    def __enter__(self) -> "HeldLock":
        result = acquire(self._client, self._scripts, self.key, self.ttl_ms, self._wait_ms, self._retry_ms)
        if not result.acquired:
            raise LockNotAcquired(self.name, result.held_for_ms)
        self.token, self.expires_at_ms, self.took_over = result.token, result.expires_at_ms, result.took_over
        if self._auto_extend:
            self._beat = threading.Thread(target=self._keep_alive, name=f"lock-{self.name}", daemon=True)
            self._beat.start()
        return self

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                if not self.extend().extended:
                    return
            except redis.RedisError:
                continue

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Any) -> bool:
        self._stop.set()
        if self._beat:
            self._beat.join()
        self.release_outcome = release(self._client, self._scripts, self.key, self.token or "")
        if exc is None and self.release_outcome != "released":
            raise LockLost(self.name, self.release_outcome)
        return False
