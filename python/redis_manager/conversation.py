"""Agent conversation memory at `conversation:{campaign}:{agent}`: a list of JSON objects,
oldest first (RPUSH), as the node's Conversation resource writes and reads it
(platform/conversation.ts, "platform" format)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional

import redis

from .codec import RedisManagerValueError, assert_size, decode_maybe_json, encode_json
from .scripts import ScriptRunner

DEFAULT_TTL = 7 * 24 * 3600
DEFAULT_MAX_MESSAGES = 100


@dataclass(frozen=True)
class AppendResult:
    key: str
    appended: int
    # Length after trimming to the newest max_messages.
    length: int
    trimmed: int


def encode_messages(messages: Any, max_bytes: int) -> List[str]:
    """Each message a JSON object, as the node requires, so either side can append after the other."""
    items = [messages] if isinstance(messages, Mapping) else list(_iterable(messages))
    encoded: List[str] = []
    for position, message in enumerate(items, start=1):
        if not isinstance(message, Mapping):
            raise RedisManagerValueError(f"message {position} is not a JSON object (a dict)")
        encoded.append(encode_json(dict(message), max_bytes, f"message {position}"))
    assert_size("".join(encoded), max_bytes, "the messages")
    return encoded


def _iterable(value: Any) -> Iterable[Any]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise RedisManagerValueError("the history must be a list of messages (dicts)")
    return value


def store(client: redis.Redis, key: str, encoded: List[str], ttl: int) -> int:
    """Replaces the whole history in one MULTI, so no reader sees it half-written."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    if encoded:
        pipe.rpush(key, *encoded)
        if ttl > 0:
            pipe.expire(key, ttl)
    pipe.execute()
    return len(encoded)


def append(client: redis.Redis, scripts: ScriptRunner, key: str, encoded: List[str],
           max_messages: int, ttl: int) -> AppendResult:
    """Push, trim and TTL renewal in the node's own script (conversation-append.lua)."""
    if not encoded:
        raise RedisManagerValueError("give at least one message")
    length, trimmed = scripts.run(
        client, "conversation_append", {"list": key},
        {"side": "R", "max_length": max_messages, "ttl": ttl, "messages": encoded},
    )
    return AppendResult(key=key, appended=len(encoded), length=int(length), trimmed=int(trimmed))


def read(client: redis.Redis, key: str, limit: Optional[int]) -> List[Any]:
    start = 0 if limit is None else -limit
    return [decode_maybe_json(text) for text in client.lrange(key, start, -1)]
