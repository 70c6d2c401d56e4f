"""``ProductionStrategy``: a read-through response cache with single-flight.

The decision is written once; ``fetch`` and ``afetch`` are thin shells that
differ only in how they reach the store and wait for a flight:

1. ``cache=False``: compute, store nothing. ``cache="refresh"``: compute
   and store, without reading.
2. A live entry: return it (hit).
3. Else join the key's flight. A follower waits for the leader's outcome
   (and counts as a hit: it made no provider call). The leader, a miss,
   checks the store once more (an identical call may have just landed),
   computes, stores the result unless it is empty, and wakes the followers.
   Errors are never stored: they wake the followers and propagate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from exllm_py import telemetry
from exllm_py.cache.entry import CacheEntry, make_entry, served_from_cache
from exllm_py.cache.singleflight import Flights
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.strategy import CacheLookup
from exllm_py.request import DEFAULT_TTL
from exllm_py.types import LLMResponse

if TYPE_CHECKING:
    from exllm_py.cache.distributed_lock import FlightLock

__all__ = ["ProductionStrategy"]

_perf_ns = time.perf_counter_ns


class ProductionStrategy:
    """Serves repeated calls from ``store`` (a ``MemoryStore`` unless given).

    ``lock`` (opt-in, e.g. :class:`~exllm_py.cache.distributed_lock.RedisFlightLock`)
    extends single-flight across processes: a flight's leader computes under it.
    """

    def __init__(self, store: CacheStore | None = None, *, lock: FlightLock | None = None) -> None:
        self.store: CacheStore = MemoryStore() if store is None else store
        self.lock = lock
        self._flights: Flights[LLMResponse] = Flights()
        # The store counts a hit or a miss per read, which is right for hits and
        # costs the hit path nothing more. Off the hit path, these correct it:
        # a follower's read missed but it was served (a hit), and a leader reads
        # twice for one call.
        self._counts_lock = threading.Lock()
        self._followers = self._rechecks = 0

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        if lookup.control.mode is not True:
            return self._store_fresh(lookup, compute()) if lookup.control.writes else compute()
        started = _perf_ns()
        entry = self.store.get(lookup.key)
        if entry is not None:
            if not telemetry.wanted(telemetry.CACHE_HIT):
                return entry.response  # the common hit, without one more call
            return self._hit(lookup, entry, started)
        flight, leader = self._flights.join(lookup.key)
        if not leader:
            return self._followed(flight.wait(lookup.timeout), lookup, started)
        self._miss(lookup, started)
        try:
            entry = self.store.get(lookup.key)
            response = entry.response if entry is not None else self._lead(lookup, compute)
        except BaseException as exc:
            self._flights.fail(flight, exc)
            raise
        self._flights.resolve(flight, response)
        return response

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        if lookup.control.mode is not True:
            response = await compute()
            return await self._astore_fresh(lookup, response) if lookup.control.writes else response
        started = _perf_ns()
        entry = await self.store.aget(lookup.key)
        if entry is not None:
            return self._hit(lookup, entry, started)
        flight, leader = self._flights.join(lookup.key)
        if not leader:
            return self._followed(await flight.await_(lookup.timeout), lookup, started)
        self._miss(lookup, started)
        try:
            entry = await self.store.aget(lookup.key)
            if entry is not None:
                response = entry.response
            else:
                response = await self._alead(lookup, compute)
        except BaseException as exc:
            self._flights.fail(flight, exc)
            raise
        self._flights.resolve(flight, response)
        return response

    def _lead(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        """Compute and store; under ``lock``, unless another process has the answer first."""
        if self.lock is None:
            return self._store_fresh(lookup, compute())

        def produce() -> LLMResponse:
            return self._store_fresh(lookup, compute())

        return self.lock.run(lookup.key, self.store, produce, lookup.timeout)

    async def _alead(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        if self.lock is None:
            return await self._astore_fresh(lookup, await compute())

        async def produce() -> LLMResponse:
            return await self._astore_fresh(lookup, await compute())

        return await self.lock.arun(lookup.key, self.store, produce, lookup.timeout)

    def _store_fresh(self, lookup: CacheLookup, response: LLMResponse) -> LLMResponse:
        entry = self._entry_for(lookup, response)
        if entry is not None:
            self.store.set(lookup.key, entry)
            _report_put(lookup, entry)
        return response

    async def _astore_fresh(self, lookup: CacheLookup, response: LLMResponse) -> LLMResponse:
        entry = self._entry_for(lookup, response)
        if entry is not None:
            await self.store.aset(lookup.key, entry)
            _report_put(lookup, entry)
        return response

    def _entry_for(self, lookup: CacheLookup, response: LLMResponse) -> CacheEntry | None:
        if not response.content and not response.tool_calls:
            return None  # an empty answer is more likely a glitch than worth repeating
        ttl = lookup.control.ttl
        return make_entry(
            response,
            lookup.key,
            self.store.clock(),
            self.store.default_ttl if ttl is DEFAULT_TTL else ttl,  # type: ignore[arg-type]
        )

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        return transport

    def wrap_async_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return transport

    def _hit(self, lookup: CacheLookup, entry: CacheEntry, started: int) -> LLMResponse:
        if telemetry.wanted(telemetry.CACHE_HIT):
            saved = entry.response.metadata.get("saved_cost")
            labels = _labels(lookup)
            tier = entry.response.metadata.get("tier")
            if tier is not None:
                labels["tier"] = tier  # which tier of a TieredStore answered
            telemetry.emit(
                telemetry.CACHE_HIT,
                {"duration_ns": _perf_ns() - started, "saved_cost_usd": saved},
                labels,
            )
        return entry.response

    def _followed(self, response: LLMResponse, lookup: CacheLookup, started: int) -> LLMResponse:
        """A follower's copy of the leader's answer: a hit, marked, costing nothing."""
        if not response.metadata.get("from_cache"):
            served = served_from_cache(response, lookup.key, self.store.clock())
            metadata = {**served.metadata, "single_flight": True}
            response = attrs.evolve(served, metadata=metadata)
        entry = CacheEntry(response=response, size=0, stored_at=response.metadata["cached_at"])
        with self._counts_lock:
            self._followers += 1
        return self._hit(lookup, entry, started)

    def _miss(self, lookup: CacheLookup, started: int) -> None:
        with self._counts_lock:
            self._rechecks += 1  # the leader reads the store once more, below
        if telemetry.wanted(telemetry.CACHE_MISS):
            telemetry.emit(
                telemetry.CACHE_MISS, {"duration_ns": _perf_ns() - started}, _labels(lookup)
            )

    def stats(self) -> CacheStats:
        """The store's counters, with hits and misses counted per call."""
        with self._counts_lock:
            followers, rechecks = self._followers, self._rechecks
        stats = self.store.stats()
        return attrs.evolve(
            stats, hits=stats.hits + followers, misses=stats.misses - followers - rechecks
        )

    def in_flight(self) -> int:
        """How many distinct calls are being computed right now."""
        return len(self._flights)


def _report_put(lookup: CacheLookup, entry: CacheEntry) -> None:
    if telemetry.wanted(telemetry.CACHE_PUT):
        ttl = None if entry.expires_at is None else entry.expires_at - entry.stored_at
        telemetry.emit(
            telemetry.CACHE_PUT, {"size_bytes": entry.size, "ttl_s": ttl}, _labels(lookup)
        )


def _labels(lookup: CacheLookup) -> dict[str, Any]:
    return {
        "key": lookup.key,
        "provider": lookup.provider,
        "model": lookup.model,
        "namespace": lookup.control.namespace,
    }
