"""The job queue on the node's own scripts (queue-*.lua): the same envelope, the same state
keys, the same at-least-once semantics as the n8n Job Queue resource and its queue-worker
trigger (platform/queue). Every call that changes a job's state is one script call; the
script names and argument orders live in scripts.SCRIPTS."""

from __future__ import annotations

import secrets
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type

import redis

from .codec import decode_json_strict, encode_json
from .keys import QueueKeys
from .scripts import ScriptRunner

MAX_ATTEMPTS = 3
BACKOFF_MS = 1000
MAX_BACKOFF_MS = 3_600_000
VISIBILITY_MS = 60_000
# Jobs moved per housekeeping step of one take, so one script never runs long.
MOVE_LIMIT = 500
# Longest single block of a blocking take, so delayed and prioritised jobs are noticed.
BLOCK_SLICE_MS = 1000
MAX_PRIORITY = 100
MAX_ERROR_CHARS = 10_000
# Lifetime of a result record: QUEUE_DEFAULTS.resultTtlMs (platform/queue/types.ts).
RESULT_TTL_MS = 86_400_000
# complete()'s "no result given": None is a result (JSON null) a waiter may expect.
_NO_RESULT: Any = object()


def _keys(queue: QueueKeys) -> Dict[str, str]:
    return {name: queue.by_name(name) for name in queue.names()}


def new_job_id() -> str:
    return str(uuid.uuid4())


def new_lease() -> str:
    # 9 random bytes in base64url, as the node's leases.
    return secrets.token_urlsafe(9)


@dataclass(frozen=True)
class EnqueueOptions:
    job_id: Optional[str] = None
    delay_ms: int = 0
    run_at_ms: int = 0
    priority: int = 0
    max_attempts: int = MAX_ATTEMPTS
    backoff_ms: int = BACKOFF_MS
    # Fair queues: takes rotate over the groups with ready jobs; "" = the ungrouped jobs.
    group: str = ""


@dataclass(frozen=True)
class GroupLimits:
    """Per-group limits of a take, as the node's "Max In Flight per Group" and "Max Jobs per
    Group per Window": checked in the take script against the queue's shared counts, so
    workers that pass the same limits keep them together (0 = no limit)."""

    max_in_flight: int = 0
    rate_max: int = 0
    rate_window_ms: int = 0

    def args(self) -> Dict[str, int]:
        return {"max_in_flight_per_group": self.max_in_flight, "group_rate_max": self.rate_max,
                "group_rate_window_ms": self.rate_window_ms if self.rate_max > 0 else 0}


NO_LIMITS = GroupLimits()


def build_envelope(job_id: str, payload: Any, options: EnqueueOptions, max_bytes: int) -> str:
    """The node's envelope, keys in its order; `payload` stays last."""
    envelope: Dict[str, Any] = {
        "id": job_id,
        "attempt": 0,
        "maxAttempts": options.max_attempts,
        "backoffMs": options.backoff_ms,
        "enqueuedAt": int(time.time() * 1000),
    }
    if options.priority > 0:
        envelope["priority"] = options.priority
    if options.group:
        envelope["group"] = options.group
    envelope["payload"] = payload
    return encode_json(envelope, max_bytes, "the job")


def enqueue(client: redis.Redis, scripts: ScriptRunner, queue: QueueKeys, payload: Any,
            options: EnqueueOptions, max_bytes: int) -> Optional[str]:
    dedup = bool(options.job_id)
    job_id = options.job_id or new_job_id()
    ok, _run_at = scripts.run(client, "queue_enqueue", _keys(queue), {
        "id": job_id,
        "envelope": build_envelope(job_id, payload, options, max_bytes),
        "dedup": "1" if dedup else "0",
        "delay_ms": options.delay_ms,
        "run_at": options.run_at_ms,
        "priority": options.priority,
        "group": options.group,
    })
    return job_id if int(ok) == 1 else None


class JobLost(RuntimeError):
    """The job is no longer ours: its visibility timeout passed and it was handed out again
    (or it was completed, failed or released already). Its work may run twice."""


@dataclass
class Job:
    """A job taken for at-least-once work. `with job:` completes it when the block succeeds
    and fails it with the exception otherwise (retried with backoff, then dead-lettered),
    extending its visibility deadline while the block runs."""

    queue_name: str
    id: str
    payload: Any
    # 1 on the first delivery.
    attempt: int
    max_attempts: int
    # Epoch ms, or None for a bare payload pushed without an envelope.
    enqueued_at: Optional[int]
    lease: str
    # Epoch ms (Redis clock) when the job returns to the queue unless settled or extended.
    visible_at: int
    last_error: Optional[str]
    # True when a producer pushed plain JSON without an envelope (the id was generated).
    bare: bool
    envelope: str
    # The job's group, or None for an ungrouped job.
    group: Optional[str]
    visibility_ms: int
    _queue: "JobQueue" = field(repr=False, compare=False)
    _settled: Optional[str] = field(default=None, repr=False, compare=False)
    _heartbeat: Optional["_Heartbeat"] = field(default=None, repr=False, compare=False)

    @property
    def settled(self) -> Optional[str]:
        """None while the job is ours to settle, else what became of it."""
        return self._settled

    def complete(self, result: Any = _NO_RESULT, result_ttl_ms: int = RESULT_TTL_MS) -> str:
        """Acknowledges the job: it leaves the queue. 'done', or 'stale'/'missing' when it was
        no longer ours. With `result` (any JSON value), the same script stores it for a waiting
        n8n execution (Enqueue with Wait for Result, Get Job Result) for `result_ttl_ms`."""
        outcome = self._queue.complete(self.id, self.lease, result, result_ttl_ms)
        self._settled = outcome
        return outcome

    def fail(self, error: str, retry: bool = True, backoff_ms: Optional[int] = None) -> Dict[str, Any]:
        """Retries the job after backoff x 2^(attempt-1) (capped at 1 h), or dead-letters it
        once its attempts are used up or retry is False."""
        outcome = self._queue.fail(self.id, self.lease, error, retry, backoff_ms)
        self._settled = outcome["status"]
        return outcome

    def release(self) -> str:
        """Hands the job back to the head of its queue untouched; the delivery uses no attempt."""
        outcome = self._queue.release(self.id, self.lease)
        self._settled = outcome
        return outcome

    def extend(self, visibility_seconds: Optional[float] = None) -> int:
        """A new visibility deadline counted from now; raises JobLost when the job is no longer ours."""
        ms = self.visibility_ms if visibility_seconds is None else int(visibility_seconds * 1000)
        deadline = self._queue.extend(self.id, self.lease, ms)
        if deadline is None:
            raise JobLost(f"job {self.id} of queue {self.queue_name} is no longer ours (lease {self.lease})")
        self.visible_at = deadline
        return deadline

    def __enter__(self) -> "Job":
        self._heartbeat = _Heartbeat(self)
        self._heartbeat.start()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Any) -> bool:
        if self._heartbeat:
            self._heartbeat.stop()
        if self._settled is not None:
            return False
        if exc is None:
            self.complete()
        elif isinstance(exc, Exception):
            self.fail(describe_error(exc))
        # KeyboardInterrupt, SystemExit: leave the job in flight; it returns after its
        # visibility timeout, as it would after a crash.
        return False


def describe_error(error: BaseException) -> str:
    head = f"{type(error).__name__}: {error}"
    trace = "".join(traceback.format_tb(error.__traceback__)[-3:])
    return (head + ("\n" + trace if trace else ""))[:MAX_ERROR_CHARS]


class _Heartbeat:
    """Extends a running job's deadline every third of its visibility timeout, so only a
    worker that stopped lets its job time out and be handed out again."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-heartbeat-{job.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        every = max(0.05, self.job.visibility_ms / 3000)
        while not self._stop.wait(every):
            try:
                self.job.extend()
            except JobLost:
                return
            except redis.RedisError:
                # A missed beat is harmless while the next one lands before the deadline.
                continue


def _parse_job(queue: "JobQueue", reply: list, visibility_ms: int) -> Job:
    _, job_id, envelope, attempt, max_attempts, lease, deadline, _now, last_error = reply
    payload: Any = envelope
    enqueued_at: Optional[int] = None
    bare = False
    group: Optional[str] = None
    try:
        parsed = decode_json_strict(envelope)
        payload = parsed.get("payload")
        bare = parsed.get("source") == "bare"
        if isinstance(parsed.get("group"), str) and parsed["group"]:
            group = parsed["group"]
        # A bare payload's enqueue time is unknown: the wrapper only records when it was taken.
        if isinstance(parsed.get("enqueuedAt"), int) and not bare:
            enqueued_at = parsed["enqueuedAt"]
    except (ValueError, AttributeError):
        pass
    return Job(queue_name=queue.name, id=job_id, payload=payload, attempt=int(attempt), max_attempts=int(max_attempts),
               enqueued_at=enqueued_at, lease=lease, visible_at=int(deadline), last_error=last_error or None,
               bare=bare, envelope=envelope, group=group, visibility_ms=visibility_ms, _queue=queue)


class JobQueue:
    """One queue. Non-blocking calls use the shared client; waits use `blocking`, a client
    of its own, as no blocking command may hold a connection other calls wait for."""

    def __init__(self, name: str, keys: QueueKeys, client: redis.Redis, blocking: redis.Redis,
                 scripts: ScriptRunner) -> None:
        self.name = name
        self.keys = keys
        self.client = client
        self.blocking = blocking
        self.scripts = scripts
        self._named = _keys(keys)

    def _run(self, script: str, **args: Any) -> Any:
        return self.scripts.run(self.client, script, self._named, args)

    def try_take(self, visibility_ms: int, default_max_attempts: int = MAX_ATTEMPTS,
                 limits: GroupLimits = NO_LIMITS) -> tuple:
        """(job, None, False), or (None, ms until the next delayed job or rate-limited group is due
        or None, whether a group with ready jobs was held back by a limit)."""
        reply = self._run("queue_take", visibility_ms=visibility_ms, bare_id=new_job_id(),
                          lease=new_lease(), default_max_attempts=default_max_attempts, move_limit=MOVE_LIMIT,
                          **limits.args())
        if reply[0] == "job":
            return _parse_job(self, reply, visibility_ms), None, False
        next_run_at, now, held = int(reply[1]), int(reply[2]), int(reply[6]) == 1
        return None, (next_run_at - now if next_run_at >= 0 else None), held

    def take(self, timeout_s: float, visibility_ms: int, default_max_attempts: int = MAX_ATTEMPTS,
             limits: GroupLimits = NO_LIMITS) -> Optional[Job]:
        """Waits up to timeout_s: BLMOVE moves the next waiting job into the queue's claim
        list and the take script claims it from there; a crash in between leaves it in the
        claim list, which every take drains first. (Grouped jobs do not wake BLMOVE: a wait
        notices them at its next slice, within BLOCK_SLICE_MS.)"""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            job, next_due_ms, held = self.try_take(visibility_ms, default_max_attempts, limits)
            left_ms = (deadline - time.monotonic()) * 1000
            if job is not None or left_ms <= 0:
                return job
            slice_ms = min(left_ms, BLOCK_SLICE_MS)
            if next_due_ms is not None:
                slice_ms = min(slice_ms, max(10, next_due_ms))
            if held:
                # A group held back by a limit frees when a job is settled or its window slides;
                # BLMOVE would return at once while ungrouped jobs wait, so pause instead.
                time.sleep(slice_ms / 1000)
            else:
                self.blocking.blmove(self.keys.waiting, self.keys.claim, max(0.01, slice_ms / 1000), "RIGHT", "LEFT")

    def complete(self, job_id: str, lease: str = "", result: Any = _NO_RESULT,
                 result_ttl_ms: int = RESULT_TTL_MS) -> str:
        """Completes a job; with `result`, its result record is written by the same script."""
        if result is _NO_RESULT:
            return str(self._run("queue_complete", id=job_id, lease=lease, result="", result_ttl_ms=0))
        return str(self._run("queue_complete", id=job_id, lease=lease, result=encode_json(result, what="the result"),
                             result_ttl_ms=result_ttl_ms))

    def result(self, job_id: str) -> Dict[str, Any]:
        """The job's result record: {"status": "completed", "result": ...}, {"status": "dead",
        "error": ...}, or {"status": "pending"} while there is none."""
        text = self.client.get(self.keys.result(job_id))
        if text is None:
            return {"id": job_id, "status": "pending"}
        return decode_json_strict(text)

    def fail(self, job_id: str, lease: str, error: str, retry: bool = True,
             backoff_ms: Optional[int] = None) -> Dict[str, Any]:
        reply = self._run("queue_fail", id=job_id, lease=lease, error=error[:MAX_ERROR_CHARS],
                          backoff_ms=-1 if backoff_ms is None else backoff_ms, retry="1" if retry else "0",
                          max_backoff_ms=MAX_BACKOFF_MS, default_max_attempts=MAX_ATTEMPTS,
                          default_backoff_ms=BACKOFF_MS)
        status = str(reply[0])
        if status == "retry":
            return {"status": status, "attempt": int(reply[1]), "runAt": int(reply[2])}
        if status == "dead":
            return {"status": status, "attempt": int(reply[1]), "failedAt": int(reply[2])}
        return {"status": status}

    def extend(self, job_id: str, lease: str, visibility_ms: int) -> Optional[int]:
        reply = self._run("queue_extend", id=job_id, lease=lease, visibility_ms=visibility_ms)
        return int(reply[1]) if reply[0] == "ok" else None

    def release(self, job_id: str, lease: str) -> str:
        return str(self._run("queue_release", id=job_id, lease=lease))

    def recover(self) -> Dict[str, int]:
        """The housekeeping every take does, on its own: due delayed jobs back to waiting,
        timed-out jobs back (or to the dead list when their attempts are used up)."""
        promoted, recovered, buried = (int(v) for v in self._run(
            "queue_recover", default_max_attempts=MAX_ATTEMPTS, move_limit=MOVE_LIMIT))
        return {"promoted": promoted, "recovered": recovered, "dead": buried}

    def retry_dead(self, job_id: Optional[str] = None, limit: int = 1000) -> int:
        """Moves dead jobs (one by id, or up to `limit` of the oldest) back with fresh attempts."""
        return int(self._run("queue_retry_dead", limit=1 if job_id else limit, id=job_id or ""))

    def purge_dead(self, limit: int = 1000) -> int:
        return int(self._run("queue_purge_dead", limit=limit))

    def dead(self, count: int = 100) -> List[Dict[str, Any]]:
        """The newest dead jobs: id, error, attempt, maxAttempts, failedAt and the envelope."""
        return [decode_json_strict(text) for text in self.client.lrange(self.keys.dead, 0, max(0, count - 1))]

    def stats(self, max_groups: int = 100) -> Dict[str, Any]:
        """The node's Queue Stats figures, with up to max_groups groups listed one by one."""
        reply = self._run("queue_stats", max_groups=max_groups)
        waiting, prioritized, delayed, in_flight, dead, stalled, due, oldest, now, next_run, groups = (
            int(v) for v in reply[:11]
        )
        by_group = [
            {"group": str(reply[i]), "waiting": int(reply[i + 1]),
             "inFlight": int(reply[i + 2]) if int(reply[i + 2]) >= 0 else None}
            for i in range(11, len(reply) - 2, 3)
        ]
        return {
            "waiting": waiting,
            "prioritized": prioritized,
            "delayed": delayed,
            "inFlight": in_flight,
            "dead": dead,
            "stalled": stalled,
            "due": due,
            "oldestWaitingAgeMs": max(0, now - oldest) if oldest >= 0 else None,
            "nextRunAt": next_run if next_run >= 0 else None,
            "now": now,
            "groups": groups,
            "byGroup": by_group,
        }
