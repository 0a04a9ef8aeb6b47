"""RedisManager: the guide's API (seeds/000_*.txt, "Python (using redis_manager.py)") over
the node's key schema, DB roles, value encoding and Lua scripts."""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import redis

from . import conversation, jobs, leaderboard, locks, rate_limit, updates
from .codec import (
    DEFAULT_MAX_VALUE_BYTES,
    RedisManagerValueError,
    assert_size,
    decode_content,
    decode_maybe_json,
    encode_json,
    finite_number,
    identifier,
    ttl_seconds,
    whole_number,
)
from .config import ROLES, Settings, env_fingerprint, settings_from_env
from .connections import Connections
from .health import read_health
from .jobs import EnqueueOptions, Job, JobQueue
from .keys import KeySchema, normalise_query, trim_identifier
from .scripts import ScriptRunner


class RedisManager:
    def __init__(self, settings: Optional[Settings] = None, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> None:
        self.settings = settings or settings_from_env()
        self.keys = KeySchema(self.settings.key_prefix)
        self.connections = Connections(self.settings)
        self.scripts = ScriptRunner(self.settings.lua_dir)
        self.max_value_bytes = max_value_bytes

    # -- plumbing ---------------------------------------------------------------------------

    def client(self, role: str) -> redis.Redis:
        """The shared client of a role's DB (session, content, cache, queue, rate_limit, default)."""
        return self.connections.client(role)

    def ping(self) -> bool:
        return all(self.client(role).ping() for role in ROLES)

    def close(self) -> None:
        self.connections.close()

    def __enter__(self) -> "RedisManager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, value: Any, what: str) -> str:
        return encode_json(value, self.max_value_bytes, what)

    # -- sessions: session:{id}, JSON object, TTL -------------------------------------------

    def set_session(self, session_id: str, data: Mapping[str, Any], ttl: int = 3600) -> bool:
        if not isinstance(data, Mapping):
            raise RedisManagerValueError("session data must be a JSON object (a dict)")
        key = self.keys.session(identifier(session_id, "session_id"))
        return bool(self.client("session").set(key, self._json(dict(data), "the session data"), ex=ttl_seconds(ttl)))

    def get_session(self, session_id: str) -> Optional[Dict[str, Any]]:
        """The session's data, or None when there is none (expired or never set)."""
        return decode_maybe_json(self.client("session").get(self.keys.session(identifier(session_id, "session_id"))))

    def delete_session(self, session_id: str) -> bool:
        return self.client("session").delete(self.keys.session(identifier(session_id, "session_id"))) == 1

    def refresh_session(self, session_id: str, ttl: int = 3600) -> bool:
        """Gives the session a new TTL; False when it does not exist."""
        key = self.keys.session(identifier(session_id, "session_id"))
        return bool(self.client("session").expire(key, ttl_seconds(ttl)))

    # -- content cache: content:{id}, raw text or JSON, TTL ---------------------------------

    def cache_content(self, content_id: str, content: Any, ttl: int = 86400) -> bool:
        """A str is stored as it is (raw text); anything else as JSON."""
        key = self.keys.content(identifier(content_id, "content_id"))
        if isinstance(content, str):
            assert_size(content, self.max_value_bytes, "the content")
            value = content
        else:
            value = self._json(content, "the content")
        return bool(self.client("content").set(key, value, ex=ttl_seconds(ttl)))

    def get_cached_content(self, content_id: str, read_as: str = "auto") -> Any:
        """None on a miss. read_as "auto" (JSON when it parses, else the text), "text" or "json"."""
        text = self.client("content").get(self.keys.content(identifier(content_id, "content_id")))
        return None if text is None else decode_content(text, read_as)

    def delete_cached_content(self, content_id: str) -> bool:
        return self.client("content").delete(self.keys.content(identifier(content_id, "content_id"))) == 1

    # -- API cache: search:{sha256 of the normalised query}, api:{namespace}:{key} -----------

    def _search_key(self, query: str) -> str:
        if not isinstance(query, str) or normalise_query(query) == "":
            raise RedisManagerValueError("the search query is empty after trimming spaces")
        return self.keys.search(query)

    def cache_search_results(self, query: str, results: Any, ttl: int = 3600) -> bool:
        key = self._search_key(query)
        return bool(self.client("cache").set(key, self._json(results, "the results"), ex=ttl_seconds(ttl)))

    def get_cached_search_results(self, query: str) -> Any:
        """The results cached under any spelling of the query that normalises the same; None on a miss."""
        return decode_maybe_json(self.client("cache").get(self._search_key(query)))

    def cache_api_response(self, namespace: str, key: str, value: Any, ttl: int) -> bool:
        redis_key = self.keys.api_cache(identifier(namespace, "namespace"), identifier(key, "key"))
        return bool(self.client("cache").set(redis_key, self._json(value, "the value"), ex=ttl_seconds(ttl)))

    def get_cached_api_response(self, namespace: str, key: str) -> Any:
        redis_key = self.keys.api_cache(identifier(namespace, "namespace"), identifier(key, "key"))
        return decode_maybe_json(self.client("cache").get(redis_key))

    def delete_cached_api_response(self, namespace: str, key: str) -> bool:
        redis_key = self.keys.api_cache(identifier(namespace, "namespace"), identifier(key, "key"))
        return self.client("cache").delete(redis_key) == 1

    # -- agent conversation memory: conversation:{campaign}:{agent} --------------------------

    def _conversation_key(self, campaign_id: str, agent_name: str) -> str:
        return self.keys.conversation(identifier(campaign_id, "campaign_id"), identifier(agent_name, "agent_name"))

    def store_agent_conversation(self, campaign_id: str, agent_name: str, conversation_history: Sequence[Mapping[str, Any]],
                                 ttl: int = conversation.DEFAULT_TTL) -> int:
        """Replaces the history with these messages (oldest first); returns how many are stored."""
        key = self._conversation_key(campaign_id, agent_name)
        encoded = conversation.encode_messages(conversation_history, self.max_value_bytes)
        return conversation.store(self.client("session"), key, encoded, ttl_seconds(ttl, low=0))

    def append_agent_conversation(self, campaign_id: str, agent_name: str, messages: Any,
                                  max_messages: int = conversation.DEFAULT_MAX_MESSAGES,
                                  ttl: int = conversation.DEFAULT_TTL) -> conversation.AppendResult:
        """Appends one message (a dict) or a list, keeps the newest max_messages (0 = all) and
        renews the TTL (0 = unchanged), atomically, as the node's Append Messages does."""
        key = self._conversation_key(campaign_id, agent_name)
        encoded = conversation.encode_messages(messages, self.max_value_bytes)
        keep = whole_number(max_messages, "max_messages", 0, 1_000_000)
        return conversation.append(self.client("session"), self.scripts, key, encoded, keep, ttl_seconds(ttl, low=0))

    def get_agent_conversation(self, campaign_id: str, agent_name: str, limit: Optional[int] = None) -> List[Any]:
        """The newest `limit` messages (all when None), oldest first; [] when there is no history."""
        if limit is not None:
            whole_number(limit, "limit", 1, 1_000_000)
        return conversation.read(self.client("session"), self._conversation_key(campaign_id, agent_name), limit)

    def clear_agent_conversation(self, campaign_id: str, agent_name: str) -> bool:
        return self.client("session").delete(self._conversation_key(campaign_id, agent_name)) == 1

    # -- updates: PUBLISH, and stream:{channel} when durable ---------------------------------

    def publish_update(self, channel: str, message: Any, durable: bool = False,
                       stream_max_length: int = updates.DEFAULT_STREAM_MAX_LENGTH) -> updates.PublishResult:
        """Publishes `message` as JSON. durable=True also appends it to stream:{channel}, which
        the node's Durable Stream trigger reads at least once, even if n8n was down."""
        name = identifier(channel, "channel")
        stream = self.keys.updates_stream(name) if durable else None
        cap = whole_number(stream_max_length, "stream_max_length", 1, 100_000_000)
        return updates.publish(self.client("default"), name, self._json(message, "the message"), stream, cap)

    def listen_updates(self, channels: Sequence[str] = (updates.DEFAULT_CHANNEL,), patterns: Sequence[str] = (),
                       timeout: Optional[float] = None) -> Any:
        """Iterates over published updates on a connection of its own (for dashboards)."""
        client = self.connections.dedicated("default", "subscriber")
        return _closing_iterator(updates.listen(client, list(channels), list(patterns), timeout), client)

    # -- job queue: queue:{name} and {queue:{name}}:*, DB queue ------------------------------

    def job_queue(self, queue_name: str) -> JobQueue:
        name = identifier(queue_name, "queue_name")
        try:
            keys = self.keys.queue(name)
        except ValueError as error:
            raise RedisManagerValueError(str(error)) from None
        return JobQueue(name, keys, self.client("queue"), self.connections.blocking("queue"), self.scripts)

    def enqueue_job(self, queue_name: str, job_data: Any, job_id: Optional[str] = None, delay: float = 0,
                    run_at: Optional[float] = None, priority: int = 0, max_attempts: int = jobs.MAX_ATTEMPTS,
                    backoff: float = jobs.BACKOFF_MS / 1000, group: Optional[str] = None) -> Optional[str]:
        """Enqueues job_data (any JSON value) in the node's envelope; returns the job id, or
        None when job_id was given and that job is still waiting, delayed, in flight or dead.
        delay/backoff in seconds, run_at in epoch seconds, priority 0-100 (higher first);
        group (e.g. the client account id) makes takes rotate fairly over the groups."""
        options = EnqueueOptions(
            job_id=None if job_id is None else identifier(job_id, "job_id"),
            delay_ms=whole_number(_ms(delay, "delay"), "delay in ms", 0, 10 * 365 * 86_400_000),
            run_at_ms=0 if run_at is None else whole_number(_ms(run_at, "run_at"), "run_at in ms", 0, 2**53),
            priority=whole_number(priority, "priority", 0, jobs.MAX_PRIORITY),
            max_attempts=whole_number(max_attempts, "max_attempts", 1, 1000),
            backoff_ms=whole_number(_ms(backoff, "backoff"), "backoff in ms", 0, jobs.MAX_BACKOFF_MS),
            group=_group(group),
        )
        q = self.job_queue(queue_name)
        return jobs.enqueue(q.client, self.scripts, q.keys, job_data, options, self.max_value_bytes)

    def take_job(self, queue_name: str, timeout: float = 5, visibility_timeout: float = jobs.VISIBILITY_MS / 1000,
                 max_in_flight_per_group: int = 0, group_rate: Optional[Tuple[int, float]] = None) -> Optional[Job]:
        """At least once: the next job, waiting up to `timeout` s, or None. Settle it with
        `with job:` (completes on success, fails with the exception), or job.complete() /
        job.fail(error). A job not settled within visibility_timeout s (its worker died)
        is handed out again; `with job:` extends the deadline while the block runs.
        Fair queues: at most max_in_flight_per_group jobs of one group in flight, and at most
        group_rate = (jobs, seconds) taken per group in a sliding window (the node's trigger
        options of the same names; give every worker of a queue the same)."""
        visibility_ms = whole_number(_ms(visibility_timeout, "visibility_timeout"), "visibility_timeout in ms", 100, 86_400_000)
        rate_max, rate_window_ms = 0, 0
        if group_rate is not None:
            rate_max = whole_number(group_rate[0], "group_rate jobs", 1, 1_000_000_000)
            rate_window_ms = whole_number(_ms(group_rate[1], "group_rate seconds"), "group_rate window in ms", 1, 7 * 86_400_000)
        limits = jobs.GroupLimits(whole_number(max_in_flight_per_group, "max_in_flight_per_group", 0, 1_000_000),
                                  rate_max, rate_window_ms)
        return self.job_queue(queue_name).take(_seconds(timeout), visibility_ms, limits=limits)

    def dequeue_job(self, queue_name: str, timeout: float = 5) -> Any:
        """At most once, as the guide's dequeue_job: the next job's payload (what was
        enqueued), waiting up to `timeout` s, or None. The job is acknowledged as it is handed
        over, so it is gone if this process dies while working on it: use take_job for work
        that must not be lost."""
        job = self.take_job(queue_name, timeout=timeout)
        if job is None:
            return None
        job.complete()
        return job.payload

    def queue_stats(self, queue_name: str) -> Dict[str, Any]:
        """The node's Queue Stats: waiting, prioritized, delayed, inFlight, dead, stalled, due..."""
        return self.job_queue(queue_name).stats()

    def recover_stalled_jobs(self, queue_name: str) -> Dict[str, int]:
        """Runs a take's housekeeping alone (monitoring; takes do it anyway): promoted, recovered, dead."""
        return self.job_queue(queue_name).recover()

    def dead_jobs(self, queue_name: str, count: int = 100) -> List[Dict[str, Any]]:
        return self.job_queue(queue_name).dead(whole_number(count, "count", 1, 100_000))

    def retry_dead_jobs(self, queue_name: str, job_id: Optional[str] = None, limit: int = 1000) -> int:
        """Moves dead jobs back with fresh attempts: one by id, or up to `limit`; returns how many."""
        job = None if job_id is None else identifier(job_id, "job_id")
        return self.job_queue(queue_name).retry_dead(job, whole_number(limit, "limit", 1, 1_000_000))

    def purge_dead_jobs(self, queue_name: str, limit: int = 1000) -> int:
        return self.job_queue(queue_name).purge_dead(whole_number(limit, "limit", 1, 1_000_000))

    # -- rate limits: ratelimit:{key}, DB rate_limit ---------------------------------------

    def rate_limit(self, key: str, max_requests: int = 100, window_seconds: float = 3600,
                   consume: bool = True, algorithm: str = "sliding_window", burst: Optional[int] = None,
                   refill_per_second: Optional[float] = None) -> rate_limit.RateLimitResult:
        """Counts one request against the limit if it allows it (consume=False only looks):
        allowed, used, remaining, retry_after_ms, reset_at... `algorithm` is "sliding_window"
        (exact), "fixed_window" (max_requests per clock-aligned window) or "token_bucket" (burst,
        refill_per_second); use the same on every check of one key, as the node does."""
        limit_rule = rate_limit.make_rule(algorithm, max_requests, window_seconds, burst, refill_per_second)
        redis_key = self.keys.rate_limit(identifier(key, "key"))
        return rate_limit.check_rule(self.client("rate_limit"), self.scripts, redis_key, limit_rule, consume)

    def wait_for_rate_limit(self, key: str, max_requests: int = 100, window_seconds: float = 3600,
                            max_wait_seconds: float = 60, algorithm: str = "sliding_window",
                            burst: Optional[int] = None, refill_per_second: Optional[float] = None) -> rate_limit.RateLimitResult:
        """Like rate_limit(), but while limited waits (blocking) in the key's queue, in arrival
        order with the node's Wait Until Allowed items, for up to max_wait_seconds; `.allowed`
        says whether it got through, `.waited` how long it took (seconds)."""
        limit_rule = rate_limit.make_rule(algorithm, max_requests, window_seconds, burst, refill_per_second)
        ok_type = isinstance(max_wait_seconds, (int, float)) and not isinstance(max_wait_seconds, bool)
        if not ok_type or not 0 <= max_wait_seconds <= rate_limit.MAX_WAIT_SECONDS:
            raise RedisManagerValueError(f"max_wait_seconds must be from 0 to {rate_limit.MAX_WAIT_SECONDS}, got {max_wait_seconds!r}")
        redis_key = self.keys.rate_limit(identifier(key, "key"))
        return rate_limit.wait(self.client("rate_limit"), self.scripts, redis_key, limit_rule, max_wait_seconds)

    def check_rate_limit(self, key: str, max_requests: int = 100, window_seconds: float = 3600) -> bool:
        """True (and counted) when the request is within the limit; a limited one is not counted."""
        return self.rate_limit(key, max_requests, window_seconds).allowed

    def reset_rate_limit(self, key: str) -> bool:
        return self.client("rate_limit").delete(self.keys.rate_limit(identifier(key, "key"))) == 1

    # -- locks: lock:{name}, DB default ----------------------------------------------------

    def _lock_key(self, name: str) -> str:
        return self.keys.lock(identifier(name, "lock name"))

    def acquire_lock(self, name: str, ttl: float = 30, wait: float = 0, retry_interval: float = 0.1) -> locks.LockAcquireResult:
        """Takes the lease when it is free or its holder's lease ended (took_over); waits up to `wait` s."""
        return locks.acquire(self.client("default"), self.scripts, self._lock_key(name), locks.lease_ms(ttl),
                             _wait_ms(wait), max(1, _ms(retry_interval, "retry_interval")))

    def release_lock(self, name: str, token: str) -> str:
        """released, expired (yours, but the lease had ended), notOwner (left alone) or notHeld."""
        return locks.release(self.client("default"), self.scripts, self._lock_key(name), identifier(token, "token"))

    def extend_lock(self, name: str, token: str, ttl: float = 30) -> locks.LockExtendResult:
        return locks.extend(self.client("default"), self.scripts, self._lock_key(name), identifier(token, "token"),
                            locks.lease_ms(ttl))

    def lock(self, name: str, ttl: float = 30, wait: float = 10, retry_interval: float = 0.1,
             auto_extend: bool = False) -> locks.HeldLock:
        """`with redis.lock("campaign_123"):` holds the lease for the block: raises
        LockNotAcquired after `wait` s, releases on exit, and raises LockLost when the
        block finished after its lease had ended. auto_extend renews it every ttl/3."""
        return locks.HeldLock(self.client("default"), self.scripts, name, self._lock_key(name), locks.lease_ms(ttl),
                              _wait_ms(wait), max(1, _ms(retry_interval, "retry_interval")), auto_extend)

    def sweep_expired_locks(self, dry_run: bool = False) -> List[Dict[str, Any]]:
        """Lock keys whose lease ended without a release (crashed holders), deleted unless
        dry_run, each judged and deleted in one script so a lock re-taken meanwhile stays."""
        client = self.client("default")
        pattern = _glob_escape(self.keys.prefix) + "lock:*"
        return [found for key in client.scan_iter(match=pattern, count=500)
                if (found := locks.sweep(client, self.scripts, key, dry_run)) is not None]

    # -- leaderboards: sorted sets named as given, default role DB --------------------------

    def _board(self, name: str) -> str:
        return self.keys.raw(identifier(name, "leaderboard"))

    def set_score(self, leaderboard_name: str, member: str, score: float, only_if: Optional[str] = None,
                  expire: int = 0) -> float:
        """ZADD; only_if "higher"/"lower" keeps a better stored score. Returns the stored score."""
        if only_if not in (None, "higher", "lower"):
            raise RedisManagerValueError('only_if must be None, "higher" or "lower"')
        return leaderboard.set_score(self.client("default"), self._board(leaderboard_name), identifier(member, "member"),
                                     finite_number(score, "score"), only_if, ttl_seconds(expire, "expire", low=0))

    def increment_score(self, leaderboard_name: str, member: str, by: float = 1, expire: int = 0) -> float:
        return leaderboard.increment(self.client("default"), self._board(leaderboard_name), identifier(member, "member"),
                                     finite_number(by, "by"), ttl_seconds(expire, "expire", low=0))

    def top_scores(self, leaderboard_name: str, count: int = 10, descending: bool = True) -> List[leaderboard.LeaderboardEntry]:
        return leaderboard.top(self.client("default"), self._board(leaderboard_name),
                               whole_number(count, "count", 1, 10_000), descending)

    def get_rank(self, leaderboard_name: str, member: str, descending: bool = True) -> Optional[leaderboard.Standing]:
        """Rank 1 is the best (highest score when descending); None when the member is absent."""
        return leaderboard.standing(self.client("default"), self._board(leaderboard_name),
                                    identifier(member, "member"), descending)

    def remove_member(self, leaderboard_name: str, member: str) -> bool:
        return self.client("default").zrem(self._board(leaderboard_name), identifier(member, "member")) == 1

    # -- health -----------------------------------------------------------------------------

    def health(self, slow_log_count: int = 10, memory_warn_percent: int = 90) -> Dict[str, Any]:
        """The node's Server > Health report: memory, hit rate, evictions, clients, slow log, keys per role."""
        return read_health(self.client("default"), dict(self.settings.dbs),
                           whole_number(slow_log_count, "slow_log_count", 0, 1000),
                           whole_number(memory_warn_percent, "memory_warn_percent", 1, 100))


def _glob_escape(text: str) -> str:
    # SCAN MATCH would read a prefix's * ? [ ] as patterns.
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _group(value: Any) -> str:
    """A job's group, trimmed like the node's Group field; empty (or only whitespace) = none."""
    if value is None or (isinstance(value, str) and trim_identifier(value) == ""):
        return ""
    return identifier(value, "group")


def _ms(seconds: Any, label: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds:
        raise RedisManagerValueError(f"{label} must be a number of seconds, got {seconds!r}")
    return int(round(seconds * 1000))


def _seconds(value: Any) -> float:
    return whole_number(_ms(value, "timeout"), "timeout in ms", 0, 86_400_000) / 1000


def _wait_ms(wait: Any) -> int:
    return whole_number(_ms(wait, "wait"), "wait in ms", 0, locks.MAX_LOCK_WAIT_MS)


def _closing_iterator(inner: Any, client: redis.Redis) -> Any:
    try:
        yield from inner
    finally:
        client.close()
        client.connection_pool.disconnect()


_cached: Dict[str, Tuple[Tuple[Optional[str], ...], RedisManager]] = {}
_cached_lock = threading.Lock()


def get_redis_manager() -> RedisManager:
    """The process's manager, from the environment; rebuilt when the environment changes."""
    fingerprint = env_fingerprint()
    with _cached_lock:
        found = _cached.get("manager")
        if found is not None and found[0] == fingerprint:
            return found[1]
        manager = RedisManager(settings_from_env())
        if found is not None:
            found[1].close()
        _cached["manager"] = (fingerprint, manager)
        return manager
