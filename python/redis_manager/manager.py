"""RedisManager: the guide's API (seeds/000_*.txt, "Python (using redis_manager.py)") over
the node's key schema, DB roles, value encoding and Lua scripts."""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import redis

from . import conversation, leaderboard, updates
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
from .keys import KeySchema, normalise_query
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
