"""The key schema, the twin of platform/keys.ts (KeySchema). Every key this package reads or
writes is built here. test/python/key-schema.test.ts feeds the same identifiers to both
schemas and fails when any builder of either side disagrees or is left out."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Tuple

# Whitespace as Python's str.isspace() sees it (what str.strip() and re's \s remove), spelled
# out as platform/keys.ts spells it (PY_SPACE), so an id the node trims and one this side
# strips name the same key, whatever Unicode version either runtime has.
PY_WHITESPACE = (
    "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_RUN = re.compile("[" + re.escape(PY_WHITESPACE) + "]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def trim_identifier(text: str) -> str:
    """An identifier without surrounding whitespace, as the node trims its key fields."""
    return text.strip(PY_WHITESPACE)


def normalise_query(query: str) -> str:
    """Trim, lower-case and collapse whitespace runs, so equivalent queries share a key."""
    return _SPACE_RUN.sub(" ", trim_identifier(query).lower())


def utf8_like_node(text: str) -> bytes:
    """UTF-8 bytes as Node.js makes them from a JS string: a lone surrogate becomes U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def search_hash(query: str) -> str:
    return hashlib.sha256(utf8_like_node(normalise_query(query))).hexdigest()


def queue_name_problem(name: str) -> str:
    """What is wrong with a queue key, or "": a brace would end or start the hash tag early
    and split the queue's keys across Cluster slots."""
    if "{" not in name and "}" not in name:
        return ""
    return ("must not contain { or }. Braces are Redis Cluster hash-tag delimiters; all keys of a queue are "
            "tagged with its name, so use a name without braces")


@dataclass(frozen=True)
class QueueKeys:
    """The keys of one queue; every key but `waiting` uses `{waiting}` as its Cluster hash tag.
    `group`, `groupflight` and `grouprate` are prefixes: the group's name follows them."""

    waiting: str
    claim: str
    priority: str
    delayed: str
    inflight: str
    jobs: str
    meta: str
    dead: str
    ids: str
    seq: str
    groups: str
    group: str
    groupflight: str
    grouprate: str

    def names(self) -> Tuple[str, ...]:
        return ("waiting", "claim", "priority", "delayed", "inflight", "jobs", "meta", "dead", "ids", "seq",
                "groups", "group", "groupflight", "grouprate")

    def result(self, job_id: str) -> str:
        """The job's result record (platform/keys.ts jobResultKey; includes/result.lua)."""
        return "{" + self.waiting + "}:result:" + job_id

    def by_name(self, name: str) -> str:
        if name not in self.names():
            raise KeyError(f'a queue has no key named "{name}"')
        return getattr(self, name)


class KeySchema:
    """Builders named like platform/keys.ts, in snake_case (apiCache -> api_cache)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def raw(self, name: str) -> str:
        """A leaderboard or other free-form key, namespaced only by the key prefix."""
        return self.prefix + name

    def session(self, session_id: str) -> str:
        return self._key("session", session_id)

    def content(self, content_id: str) -> str:
        return self._key("content", content_id)

    def search(self, query: str) -> str:
        return self._key("search", search_hash(query))

    def api_cache(self, namespace: str, key: str) -> str:
        return self._key("api", namespace, key)

    def conversation(self, campaign: str, agent: str) -> str:
        return self._key("conversation", campaign, agent)

    def langchain(self, session_id: str, key_prefix: str = "message_store:") -> str:
        """LangChain's RedisChatMessageHistory key (n8n Redis Chat Memory: key_prefix="")."""
        return self.prefix + key_prefix + session_id

    def rate_limit(self, key: str) -> str:
        return self._key("ratelimit", key)

    def lock(self, name: str) -> str:
        return self._key("lock", name)

    def celery_result(self, task_id: str) -> str:
        """Celery's Redis result backend key of a task (platform/keys.ts celeryResult)."""
        return self.prefix + "celery-task-meta-" + task_id

    def queue(self, name: str) -> QueueKeys:
        waiting = self._key("queue", name)
        problem = queue_name_problem(waiting)
        if problem:
            # Checked on the whole key: a brace in the key prefix breaks the hash tag as well.
            raise ValueError(f'The queue key "{waiting}" {problem}')
        tag = "{" + waiting + "}"
        return QueueKeys(
            waiting=waiting,
            claim=f"{tag}:claim",
            priority=f"{tag}:priority",
            delayed=f"{tag}:delayed",
            inflight=f"{tag}:inflight",
            jobs=f"{tag}:jobs",
            meta=f"{tag}:meta",
            dead=f"{tag}:dead",
            ids=f"{tag}:ids",
            seq=f"{tag}:seq",
            groups=f"{tag}:groups",
            group=f"{tag}:group:",
            groupflight=f"{tag}:group-flight:",
            grouprate=f"{tag}:group-rate:",
        )

    def updates_stream(self, channel: str) -> str:
        """The stream that mirrors a pub/sub channel for durable updates."""
        return self._key("stream", channel)

