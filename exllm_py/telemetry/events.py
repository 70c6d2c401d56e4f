"""The names of the telemetry events, as the public contract fixes them."""

from __future__ import annotations

from typing import TypeAlias

__all__ = [
    "CACHE_ERROR",
    "CACHE_EVICT",
    "CACHE_HIT",
    "CACHE_MISS",
    "CACHE_PUT",
    "REQUEST_RETRY",
    "TEST_CACHE_ERROR",
    "TEST_CACHE_HIT",
    "TEST_CACHE_MISS",
    "TEST_CACHE_SAVE",
    "Event",
]

Event: TypeAlias = tuple[str, ...]

CACHE_HIT: Event = ("exllm", "cache", "hit")
CACHE_MISS: Event = ("exllm", "cache", "miss")
CACHE_PUT: Event = ("exllm", "cache", "put")
CACHE_EVICT: Event = ("exllm", "cache", "evict")
CACHE_ERROR: Event = ("exllm", "cache", "error")

#: A failed attempt is tried again (see :mod:`exllm_py.pipeline.retry`): measurements
#: ``attempt`` (1 for the first retry) and ``delay_s``; metadata ``provider``, ``model``,
#: ``reason`` (``status``, ``timeout``, ``connection``), ``status``, ``max_retries``, ``replayed``.
REQUEST_RETRY: Event = ("exllm", "request", "retry")

TEST_CACHE_HIT: Event = ("exllm", "test_cache", "hit")
TEST_CACHE_MISS: Event = ("exllm", "test_cache", "miss")
TEST_CACHE_SAVE: Event = ("exllm", "test_cache", "save")
TEST_CACHE_ERROR: Event = ("exllm", "test_cache", "error")
