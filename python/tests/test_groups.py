"""Fair queues from Python: the node's groups, over the same scripts."""

from __future__ import annotations

import pytest

from redis_manager import RedisManager

pytestmark = pytest.mark.redis


def test_takes_rotate_over_the_groups(manager: RedisManager, prefix: str) -> None:
    for n in range(50):
        manager.enqueue_job("fair", {"n": n}, group="A")
    manager.enqueue_job("fair", {"n": 0}, group=" B ")
    manager.client("queue").lpush(f"{prefix}queue:fair", '{"from": "python"}')
    taken = [manager.take_job("fair", timeout=0) for _ in range(4)]
    assert [(job.group, job.payload) for job in taken if job] == [
        ("A", {"n": 0}), (None, {"from": "python"}), ("B", {"n": 0}), ("A", {"n": 1})]
    stats = manager.queue_stats("fair")
    assert (stats["waiting"], stats["inFlight"], stats["groups"]) == (48, 4, 1)
    assert stats["byGroup"] == [{"group": "A", "waiting": 48, "inFlight": 2}]


def test_the_in_flight_limit_per_group_is_shared_with_the_node(manager: RedisManager) -> None:
    for n in range(3):
        manager.enqueue_job("limited", n, group="acct")
    first = manager.take_job("limited", timeout=0, max_in_flight_per_group=2)
    second = manager.take_job("limited", timeout=0, max_in_flight_per_group=2)
    assert first is not None and second is not None
    assert manager.take_job("limited", timeout=0, max_in_flight_per_group=2) is None
    first.complete()
    third = manager.take_job("limited", timeout=0, max_in_flight_per_group=2)
    assert third is not None and third.payload == 2


def test_a_group_rate_limit_holds(manager: RedisManager) -> None:
    for n in range(3):
        manager.enqueue_job("rated", n, group="acct")
    assert manager.take_job("rated", timeout=0, group_rate=(2, 60)) is not None
    assert manager.take_job("rated", timeout=0, group_rate=(2, 60)) is not None
    assert manager.take_job("rated", timeout=0, group_rate=(2, 60)) is None
    assert manager.take_job("rated", timeout=0) is not None


def test_a_wait_held_back_by_a_limit_leaves_the_waiting_list_alone(manager: RedisManager, prefix: str) -> None:
    for n in range(3):
        manager.enqueue_job("held", n)
    assert manager.take_job("held", timeout=0, max_in_flight_per_group=1) is not None
    assert manager.take_job("held", timeout=0.3, max_in_flight_per_group=1) is None
    raw = manager.client("queue")
    assert (raw.llen(f"{prefix}queue:held"), raw.llen(f"{{{prefix}queue:held}}:claim")) == (2, 0)
