"""redis_manager against a real Redis: what each call writes (key, type, value, TTL) and
what it gives back. The node reading the same keys is tested from jest (test/python/)."""

from __future__ import annotations

import os
import threading
import time

import pytest

import redis_manager
from redis_manager import RedisManager, RedisManagerValueError, get_redis_manager, settings_from_env

pytestmark = pytest.mark.redis


def test_sessions(manager: RedisManager, prefix: str) -> None:
    assert manager.set_session("user_123", {"name": "John", "role": "admin"}, ttl=3600)
    raw = manager.client("session")
    assert raw.get(f"{prefix}session:user_123") == '{"name":"John","role":"admin"}'
    assert 3590 <= raw.ttl(f"{prefix}session:user_123") <= 3600
    assert manager.get_session("user_123") == {"name": "John", "role": "admin"}
    assert manager.refresh_session("user_123", ttl=60) and raw.ttl(f"{prefix}session:user_123") <= 60
    assert manager.delete_session("user_123") and manager.get_session("user_123") is None
    assert not manager.refresh_session("user_123")
    with pytest.raises(RedisManagerValueError):
        manager.set_session("user_123", ["not", "an", "object"])
    with pytest.raises(RedisManagerValueError):
        manager.set_session("user_123", {}, ttl=0)


def test_content_is_raw_text_or_json(manager: RedisManager, prefix: str) -> None:
    manager.cache_content("draft_456", "Blog post content here")
    raw = manager.client("content")
    assert raw.get(f"{prefix}content:draft_456") == "Blog post content here"
    assert 86390 <= raw.ttl(f"{prefix}content:draft_456") <= 86400
    assert manager.get_cached_content("draft_456") == "Blog post content here"
    manager.cache_content("seo_1", {"keywords": ["ai"], "score": 0.9}, ttl=60)
    assert manager.get_cached_content("seo_1") == {"keywords": ["ai"], "score": 0.9}
    assert manager.get_cached_content("seo_1", read_as="text") == '{"keywords":["ai"],"score":0.9}'
    assert manager.get_cached_content("missing") is None
    assert manager.delete_cached_content("seo_1") and not manager.delete_cached_content("seo_1")


def test_search_results_share_a_key_across_spellings(manager: RedisManager, prefix: str) -> None:
    results = [{"title": "Trend report", "url": "https://example.com/r"}]
    manager.cache_search_results("AI marketing trends", results, ttl=3600)
    key = prefix + "search:a46724ac99ff53c7e01d3392c3bf15065d5731dd06929b472c552c3a7de19e8a"
    assert manager.client("cache").ttl(key) > 3590
    assert manager.get_cached_search_results("  ai  Marketing\ttrends ") == results
    assert manager.get_cached_search_results("other") is None
    with pytest.raises(RedisManagerValueError):
        manager.cache_search_results(" \t ", results)


def test_api_cache(manager: RedisManager, prefix: str) -> None:
    manager.cache_api_response("linkedin", "company:42", {"followers": 1200}, ttl=120)
    assert manager.client("cache").ttl(f"{prefix}api:linkedin:company:42") > 110
    assert manager.get_cached_api_response("linkedin", "company:42") == {"followers": 1200}
    assert manager.delete_cached_api_response("linkedin", "company:42")
    assert manager.get_cached_api_response("linkedin", "company:42") is None


def test_conversations_store_append_and_read(manager: RedisManager, prefix: str) -> None:
    history = [{"role": "user", "content": "Find trends"}, {"role": "assistant", "content": "Trend A, B"}]
    assert manager.store_agent_conversation("campaign_1", "research_agent", history) == 2
    key = f"{prefix}conversation:campaign_1:research_agent"
    raw = manager.client("session")
    assert raw.type(key) == "list" and 604790 <= raw.ttl(key) <= 604800
    assert manager.get_agent_conversation("campaign_1", "research_agent") == history
    # store replaces; append keeps the newest max_messages
    manager.store_agent_conversation("campaign_1", "research_agent", history[:1], ttl=100)
    assert manager.get_agent_conversation("campaign_1", "research_agent") == history[:1]
    result = manager.append_agent_conversation("campaign_1", "research_agent", [{"n": i} for i in range(5)], max_messages=3)
    assert (result.appended, result.length, result.trimmed) == (5, 3, 3)
    assert manager.get_agent_conversation("campaign_1", "research_agent") == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert manager.get_agent_conversation("campaign_1", "research_agent", limit=1) == [{"n": 4}]
    assert manager.append_agent_conversation("campaign_1", "research_agent", {"n": 5}).length == 4
    assert manager.clear_agent_conversation("campaign_1", "research_agent")
    assert manager.get_agent_conversation("campaign_1", "research_agent") == []
    assert manager.store_agent_conversation("campaign_1", "research_agent", []) == 0
    with pytest.raises(RedisManagerValueError, match="message 2"):
        manager.store_agent_conversation("campaign_1", "research_agent", [{"ok": 1}, "text"])


def test_publish_plain_and_durable(manager: RedisManager, prefix: str) -> None:
    channel = f"{prefix}content_updates"
    received = []
    listening = threading.Event()

    def listen() -> None:
        for update in manager.listen_updates([channel], timeout=5):
            received.append(update)
            break

    thread = threading.Thread(target=listen)
    thread.start()
    deadline = time.time() + 5
    while manager.client("default").pubsub_numsub(channel)[0][1] == 0 and time.time() < deadline:
        time.sleep(0.02)
    plain = manager.publish_update(channel, {"draft_id": 123, "status": "approved"})
    thread.join(5)
    assert plain.subscribers == 1 and plain.stream is None
    assert received[0]["message"] == {"draft_id": 123, "status": "approved"}
    durable = manager.publish_update(channel, {"draft_id": 124}, durable=True)
    assert durable.stream == f"{prefix}stream:{channel}"
    [(entry_id, fields)] = manager.client("default").xrange(durable.stream)
    assert entry_id == durable.stream_id
    assert list(fields) == ["message", "channel", "publishedAt"]
    assert fields["message"] == '{"draft_id":124}' and fields["channel"] == channel
    assert fields["publishedAt"] == durable.published_at and durable.published_at.endswith("Z")


def test_leaderboards(manager: RedisManager, prefix: str) -> None:
    assert manager.set_score("top_content", "post_123", 450) == 450
    manager.set_score("top_content", "post_124", 320)
    assert manager.set_score("top_content", "post_124", 100, only_if="higher") == 320
    assert manager.increment_score("top_content", "post_124", 200) == 520
    top = manager.top_scores("top_content", 10)
    assert [(e.rank, e.member, e.score) for e in top] == [(1, "post_124", 520.0), (2, "post_123", 450.0)]
    assert manager.client("default").zscore(f"{prefix}top_content", "post_123") == 450
    standing = manager.get_rank("top_content", "post_123")
    assert (standing.rank, standing.score, standing.total) == (2, 450.0, 2)
    assert manager.get_rank("top_content", "nobody") is None
    assert manager.remove_member("top_content", "post_123")
    with pytest.raises(RedisManagerValueError):
        manager.set_score("top_content", "x", float("nan"))


def test_health_has_the_guides_metrics(manager: RedisManager) -> None:
    report = manager.health()
    assert report["status"] in ("ok", "warning")
    assert set(report) == {"status", "warnings", "server", "memory", "keyspace", "clients", "slowLog", "roles"}
    assert report["memory"]["maxBytes"] == 2 * 1024 ** 3 and report["memory"]["policy"] == "volatile-lru"
    assert set(report["roles"]) == {"session", "content", "cache", "queue", "rateLimit", "default", "celeryResult"}
    assert report["clients"]["connected"] >= 1 and isinstance(report["slowLog"]["entries"], list)


def test_one_pool_per_db_named_in_client_list(manager: RedisManager) -> None:
    assert manager.client("session") is manager.client("default")
    assert manager.client("content") is not manager.client("session")
    manager.ping()
    names = {c["name"] for c in manager.client("default").client_list()}
    assert {"redis-manager:shared:db0", "redis-manager:shared:db3", "redis-manager:shared:db4"} <= names


def test_get_redis_manager_is_cached_until_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_redis_manager()
    assert get_redis_manager() is first
    monkeypatch.setenv("REDIS_KEY_PREFIX", "other:")
    second = get_redis_manager()
    assert second is not first and second.keys.prefix == "other:"


def test_a_child_process_gets_fresh_connections(manager: RedisManager) -> None:
    manager.set_session("fork", {"pid": os.getpid()})
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if manager.get_session("fork") == {"pid": os.getppid()} else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert manager.get_session("fork") == {"pid": os.getpid()}


def test_the_password_never_shows_in_errors() -> None:
    settings = settings_from_env().with_overrides(password="wrong-Pa55-word")
    with RedisManager(settings) as m, pytest.raises(Exception) as caught:
        m.get_session("x")
    assert "wrong-Pa55-word" not in repr(caught.value) and "wrong-Pa55-word" not in str(caught.value)
    assert redis_manager.__version__
