"""Fixtures for the cache tests: a real redis-server (see :mod:`tests.redis_server`), another
process's client of it, hit/miss/put events, evictions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from exllm_py import telemetry
from tests.cache.cache_events import events
from tests.redis_server import private_redis, redis_server, redis_url

__all__ = [
    "events",
    "evictions",
    "invalidation_case_id",
    "other_process",
    "private_redis",
    "redis_server",
    "redis_url",
]


@pytest.fixture
def other_process(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test's redis-server, standing for another process (a lock's holder)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def evictions() -> Iterator[list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The (measurements, metadata) of every ("exllm", "cache", "evict") event in the test."""
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []
    telemetry.attach(
        "test-evictions",
        [telemetry.CACHE_EVICT],
        lambda _event, measurements, metadata: seen.append((measurements, metadata)),
    )
    yield seen
    telemetry.detach("test-evictions")


def invalidation_case_id(value: object) -> str:
    """A parametrize id for (selector, keys gone) cases that is the same in every process.

    A set's repr changes with the hash seed, and xdist workers compare their ids.
    """
    describe = getattr(value, "describe", None)
    if describe is not None:
        return str(describe())
    return ",".join(sorted(value)) if isinstance(value, (set, frozenset)) else repr(value)
