"""pytest runs against the redis-server jest starts (test/python/pytest.test.ts passes its
REDIS_URL) or any server in REDIS_URL; every test gets its own key prefix, since our
redis.conf disables FLUSHDB."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis_manager import RedisManager, settings_from_env  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if os.environ.get("REDIS_URL") or os.environ.get("REDIS_HOST"):
        return
    skip = pytest.mark.skip(reason="needs a Redis: set REDIS_URL (jest's test/python/pytest.test.ts does)")
    for item in items:
        if "redis" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redis: needs a running Redis server")


@pytest.fixture
def prefix() -> str:
    return f"py{secrets.token_hex(4)}:"


@pytest.fixture
def manager(prefix: str) -> Iterator[RedisManager]:
    settings = settings_from_env().with_overrides(key_prefix=prefix)
    with RedisManager(settings) as m:
        yield m
