"""``NoCache``: the strategy that never reads nor writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from exllm_py.cache.stats import CacheStats
from exllm_py.cache.strategy import CacheLookup
from exllm_py.types import LLMResponse

__all__ = ["NoCache"]


class NoCache:
    """Every call goes to the provider (``EXLLM_CACHE_STRATEGY=none``)."""

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        return compute()

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        return await compute()

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        return transport

    def wrap_async_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return transport

    def stats(self) -> CacheStats:
        return CacheStats()
