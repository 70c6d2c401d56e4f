"""Fixtures for the cache tests: a real redis-server (see :mod:`tests.redis_server`), evictions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import telemetry
from tests.redis_server import private_redis, redis_server, redis_url

__all__ = ["evictions", "invalidation_case_id", "private_redis", "redis_server", "redis_url"]


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
