"""Content updates: PUBLISH on a channel (any DB: pub/sub ignores DB numbers) and, when
durable, first an XADD to `stream:{channel}` in the default role's DB, with the entry fields
the node's Durable Stream trigger reads (platform/updates/publish.ts)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Optional, Sequence

import redis

from .codec import decode_maybe_json
from .health import iso_ms

DEFAULT_CHANNEL = "content_updates"
DEFAULT_STREAM_MAX_LENGTH = 10_000


@dataclass(frozen=True)
class PublishResult:
    channel: str
    # Subscribers that received the PUBLISH (on every DB, and on every node of a cluster).
    subscribers: int
    published_at: str
    stream: Optional[str] = None
    stream_id: Optional[str] = None


def now_iso() -> str:
    return iso_ms(time.time() * 1000)


def publish(client: redis.Redis, channel: str, message_json: str, stream_key: Optional[str],
            max_length: int) -> PublishResult:
    published_at = now_iso()
    pipe = client.pipeline(transaction=False)
    if stream_key:
        # The entry goes first: a subscriber that takes the PUBLISH as a hint finds it in the stream.
        fields = {"message": message_json, "channel": channel, "publishedAt": published_at}
        pipe.xadd(stream_key, fields, maxlen=max_length, approximate=True)
    pipe.publish(channel, message_json)
    replies = pipe.execute()
    return PublishResult(
        channel=channel,
        subscribers=int(replies[-1]),
        published_at=published_at,
        stream=stream_key,
        stream_id=replies[0] if stream_key else None,
    )


def listen(client: redis.Redis, channels: Sequence[str], patterns: Sequence[str],
           timeout: Optional[float]) -> Iterator[Dict[str, Any]]:
    """Yields each message as the node's pub/sub trigger emits it. Pub/sub keeps nothing:
    messages sent while nobody listens are gone (use the durable stream for those)."""
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        if channels:
            pubsub.subscribe(*channels)
        if patterns:
            pubsub.psubscribe(*patterns)
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            message = pubsub.get_message(timeout=wait)
            if message is not None:
                yield _as_update(message)
    finally:
        pubsub.close()


def _as_update(message: Dict[str, Any]) -> Dict[str, Any]:
    update: Dict[str, Any] = {"channel": message["channel"], "message": decode_maybe_json(message["data"])}
    if message.get("pattern"):
        update["pattern"] = message["pattern"]
    update["receivedAt"] = iso_ms(datetime.now(timezone.utc).timestamp() * 1000)
    return update
