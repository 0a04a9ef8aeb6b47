"""The job queue from Python: envelope, at-least-once settling, leases and stale acks."""

from __future__ import annotations

import json
import time

import pytest

from redis_manager import JobLost, RedisManager, RedisManagerValueError

pytestmark = pytest.mark.redis


def test_enqueue_writes_the_nodes_envelope_oldest_first(manager: RedisManager, prefix: str) -> None:
    first = manager.enqueue_job("content_generation", {"campaign_id": 1, "type": "blog"})
    manager.enqueue_job("content_generation", {"campaign_id": 2})
    raw = manager.client("queue")
    assert raw.llen(f"{prefix}queue:content_generation") == 2
    envelope = json.loads(raw.lindex(f"{prefix}queue:content_generation", -1))
    assert list(envelope) == ["id", "attempt", "maxAttempts", "backoffMs", "enqueuedAt", "payload"]
    assert envelope["id"] == first and envelope["payload"] == {"campaign_id": 1, "type": "blog"}
    assert raw.ttl(f"{prefix}queue:content_generation") == -1
    assert manager.dequeue_job("content_generation", timeout=1) == {"campaign_id": 1, "type": "blog"}


def test_job_ids_deduplicate(manager: RedisManager) -> None:
    assert manager.enqueue_job("q", {"n": 1}, job_id="campaign-1") == "campaign-1"
    assert manager.enqueue_job("q", {"n": 1}, job_id="campaign-1") is None
    assert manager.queue_stats("q")["waiting"] == 1


def test_with_job_completes_on_success(manager: RedisManager, prefix: str) -> None:
    manager.enqueue_job("q", {"n": 1})
    job = manager.take_job("q", timeout=1)
    assert job is not None and job.attempt == 1 and job.max_attempts == 3
    assert manager.queue_stats("q")["inFlight"] == 1
    with job:
        pass
    assert job.settled == "done"
    stats = manager.queue_stats("q")
    assert (stats["waiting"], stats["inFlight"], stats["delayed"]) == (0, 0, 0)
    assert manager.client("queue").exists(f"{{{prefix}queue:q}}:jobs", f"{{{prefix}queue:q}}:meta") == 0


def test_with_job_fails_with_the_exception_then_dead_letters(manager: RedisManager, prefix: str) -> None:
    manager.enqueue_job("q", {"n": 1}, max_attempts=2, backoff=0)
    for attempt in (1, 2):
        job = manager.take_job("q", timeout=2)
        assert job is not None and job.attempt == attempt
        with pytest.raises(ValueError):
            with job:
                raise ValueError(f"bad draft {attempt}")
    assert manager.take_job("q", timeout=0) is None
    [dead] = manager.client("queue").lrange(f"{{{prefix}queue:q}}:dead", 0, -1)
    dead = json.loads(dead)
    assert dead["attempt"] == 2 and dead["error"].startswith("ValueError: bad draft 2")


def test_a_crashed_worker_s_job_returns_after_its_visibility_timeout(manager: RedisManager) -> None:
    manager.enqueue_job("q", {"n": 1})
    abandoned = manager.take_job("q", timeout=1, visibility_timeout=0.3)
    assert manager.take_job("q", timeout=0) is None
    again = manager.take_job("q", timeout=3)
    assert again is not None and again.id == abandoned.id and again.attempt == 2
    # The first delivery's ack is refused: the job is the second worker's now.
    assert abandoned.complete() == "stale"
    with pytest.raises(JobLost):
        abandoned.extend()
    again.complete()


def test_the_heartbeat_keeps_a_long_job(manager: RedisManager) -> None:
    manager.enqueue_job("q", {"n": 1})
    job = manager.take_job("q", timeout=1, visibility_timeout=0.3)
    with job:
        time.sleep(1.0)
        assert manager.take_job("q", timeout=0) is None
    assert job.settled == "done"


def test_release_hands_back_without_an_attempt(manager: RedisManager) -> None:
    manager.enqueue_job("q", {"n": 1})
    job = manager.take_job("q", timeout=1)
    assert job.release() == "released"
    again = manager.take_job("q", timeout=1)
    assert again.id == job.id and again.attempt == 1
    again.complete()


def test_bare_json_from_a_plain_producer_is_taken(manager: RedisManager, prefix: str) -> None:
    manager.client("queue").lpush(f"{prefix}queue:q", json.dumps({"campaign_id": 9}))
    job = manager.take_job("q", timeout=1)
    assert job.bare and job.payload == {"campaign_id": 9} and job.enqueued_at is None
    job.complete()


def test_delay_and_priority(manager: RedisManager) -> None:
    manager.enqueue_job("q", "later", delay=0.4)
    manager.enqueue_job("q", "normal")
    manager.enqueue_job("q", "urgent", priority=5)
    assert manager.dequeue_job("q", timeout=0) == "urgent"
    assert manager.dequeue_job("q", timeout=0) == "normal"
    started = time.monotonic()
    assert manager.dequeue_job("q", timeout=2) == "later"
    assert time.monotonic() - started > 0.2


def test_blocking_take_wakes_on_enqueue_and_uses_its_own_pool(manager: RedisManager) -> None:
    import threading

    got = []
    thread = threading.Thread(target=lambda: got.append(manager.dequeue_job("q", timeout=5)))
    thread.start()
    time.sleep(0.3)
    assert manager.get_session("unaffected") is None
    manager.enqueue_job("q", {"woke": True})
    thread.join(5)
    assert got == [{"woke": True}]
    names = [c["name"] for c in manager.client("default").client_list()]
    assert "redis-manager:blocking:db3" in names


def test_bad_queue_input_is_refused_before_sending(manager: RedisManager) -> None:
    for call in (
        lambda: manager.enqueue_job("with{brace}", {}),
        lambda: manager.enqueue_job("q", {}, priority=101),
        lambda: manager.enqueue_job("q", float("nan")),
        lambda: manager.take_job("q", timeout=-1),
    ):
        with pytest.raises(RedisManagerValueError):
            call()


def test_dead_jobs_can_be_listed_retried_and_purged(manager: RedisManager) -> None:
    for n in range(3):
        manager.enqueue_job("q", {"n": n}, job_id=f"job-{n}", max_attempts=1)
    for _ in range(3):
        job = manager.take_job("q", timeout=1)
        job.fail("no API key", retry=False)
    dead = manager.dead_jobs("q")
    assert [d["id"] for d in dead] == ["job-2", "job-1", "job-0"] and dead[0]["error"] == "no API key"
    assert manager.retry_dead_jobs("q", job_id="job-1") == 1
    assert manager.dequeue_job("q", timeout=1) == {"n": 1}
    assert manager.purge_dead_jobs("q") == 2
    assert manager.queue_stats("q")["dead"] == 0
    # Purged ids are free again for de-duplication.
    assert manager.enqueue_job("q", {"n": 0}, job_id="job-0") == "job-0"


def test_recover_stalled_jobs_returns_timed_out_work(manager: RedisManager) -> None:
    manager.enqueue_job("q", {"n": 1})
    manager.take_job("q", timeout=1, visibility_timeout=0.1)
    time.sleep(0.2)
    assert manager.recover_stalled_jobs("q") == {"promoted": 0, "recovered": 1, "dead": 0}
    assert manager.queue_stats("q")["waiting"] == 1
