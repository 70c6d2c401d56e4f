"""``ProductionStrategy``: a read-through response cache with single-flight.

The decision is written once, as a generator that yields what to do
(``_flow``); ``fetch`` and ``afetch`` are thin shells that do it, sync or
async, and keep only the hit path inline:

1. ``cache=False``: compute, store nothing. ``cache="refresh"``: compute
   and store, without reading; when the new answer is not stored (empty,
   too large, a store error), the old entry is removed all the same.
2. A live entry: return it (hit).
3. Else join the key's flight. A follower waits for the leader's outcome
   (and counts as a hit: it made no provider call). The leader, a miss,
   checks the store once more (an identical call may have just landed),
   computes, stores the result unless it is empty, and wakes the followers.
   A store that fails to write is reported (``("exllm", "cache", "error")``,
   ``reason="put_failed"``): the caller still gets the answer it paid for.
   Errors are never stored: they wake the followers and propagate. A leader
   that is cancelled or interrupted wakes them to join again instead.

Streams go through the same store, flights and telemetry:
:mod:`exllm_py.cache.stream_flow` says how.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from exllm_py import telemetry
from exllm_py.cache.arguments import check_has, check_store
from exllm_py.cache.entry import (
    CacheEntry,
    entry_labels,
    frozen_response,
    make_entry,
    served_from_cache,
    worth_storing,
)
from exllm_py.cache.freeze import FrozenDict, deep_freeze
from exllm_py.cache.health import DEFAULT_WINDOW, astrategy_health, strategy_health
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.semantic import lookup as semantic_flow
from exllm_py.cache.semantic.effects import SemanticEffect
from exllm_py.cache.singleflight import CannotWait, Flight, Flights, LeaderGone, time_left
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.tiered import TIER_KEY
from exllm_py.cache.strategy import CacheLookup
from exllm_py.cache.stream_flow import astream_through, peek_stream, stream_through
from exllm_py.cache.warming import ProgressCallback, WarmCall, WarmReport, awarm, warm
from exllm_py.forksafe import renew_after_fork
from exllm_py.request import UseDefault
from exllm_py.types import LLMResponse, StreamChunk

if TYPE_CHECKING:
    from exllm_py.cache.distributed_lock import FlightLock
    from exllm_py.cache.semantic import SemanticCache
    from exllm_py.client import Client

__all__ = ["ProductionStrategy", "report_put"]

_perf_ns = time.perf_counter_ns


class ProductionStrategy:
    """Serves repeated calls from ``store`` (a ``MemoryStore`` unless given).

    ``lock`` (opt-in, e.g. :class:`~exllm_py.cache.distributed_lock.RedisFlightLock`)
    extends single-flight across processes: a flight's leader computes under it.
    ``semantic`` (opt-in, a :class:`~exllm_py.cache.semantic.SemanticCache`)
    answers exact misses of semantic calls from entries that mean the same.
    """

    def __init__(
        self,
        store: CacheStore | None = None,
        *,
        lock: FlightLock | None = None,
        semantic: SemanticCache | None = None,
    ) -> None:
        if store is not None:
            check_store("ProductionStrategy store", store)
        if lock is not None:
            check_has(
                "ProductionStrategy lock",
                lock,
                ("run", "arun"),
                "a flight lock such as RedisFlightLock(redis_store)",
            )
        self.store: CacheStore = MemoryStore() if store is None else store
        self.lock = lock
        if semantic is not None:
            check_has(
                "ProductionStrategy semantic", semantic, ("applies", "index"), "a SemanticCache"
            )
            semantic.bind(self.store)
        self.semantic = semantic
        self._flights: Flights[LLMResponse] = Flights()
        # Hits are counted by the store (it counts every read, and counting here
        # too would cost the hit path a lock); followers are hits it saw as
        # misses. Misses are the calls that went to the provider.
        self._counts_lock = threading.Lock()
        renew_after_fork(self, "_counts_lock")
        self._followers = self._misses = 0

    # The shells: the hit path inline (it is most calls), the rest in _flow.

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        started = _perf_ns()
        if lookup.control.mode is True:
            entry = self.store.get(lookup.key)
            if entry is not None:
                if not telemetry.wanted(telemetry.CACHE_HIT):
                    return entry.response  # the common hit, without one more call
                return self._report_hit(lookup, entry, started)
        flow = self._flow(lookup, started)
        effect: object = next(flow)
        while True:
            try:
                if effect is _PRODUCE:
                    result: Any = self._produce(lookup, compute)
                elif effect is _COMPUTE:
                    result = compute()
                elif isinstance(effect, Flight):
                    result = effect.wait(time_left(lookup.timeout, started), lookup)
                elif isinstance(effect, SemanticEffect):
                    result = effect.run()
                else:
                    result = self.store.get(lookup.key)
            except BaseException as exc:  # handed to the flow, which decides
                effect = _throw(flow, exc)
            else:
                effect = _send(flow, result)
            if isinstance(effect, _Done):
                return effect.response

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        started = _perf_ns()
        if lookup.control.mode is True:
            entry = await self.store.aget(lookup.key)
            if entry is not None:
                return self._hit(lookup, entry, started)
        flow = self._flow(lookup, started)
        effect: object = next(flow)
        while True:
            try:
                if effect is _PRODUCE:
                    result: Any = await self._aproduce(lookup, compute)
                elif effect is _COMPUTE:
                    result = await compute()
                elif isinstance(effect, Flight):
                    result = await effect.await_(time_left(lookup.timeout, started), lookup)
                elif isinstance(effect, SemanticEffect):
                    result = await effect.arun()
                else:
                    result = await self.store.aget(lookup.key)
            except BaseException as exc:  # handed to the flow, which decides
                effect = _throw(flow, exc)
            else:
                effect = _send(flow, result)
            if isinstance(effect, _Done):
                return effect.response

    # Streams: the same store, flights and telemetry, in their own flow
    # (:mod:`exllm_py.cache.stream_flow`).

    def fetch_stream(
        self,
        lookup: CacheLookup,
        open_stream: Callable[[], Iterator[StreamChunk]],
        prepare: Callable[[], None],
    ) -> Iterator[StreamChunk]:
        """``stream()``'s chunks: a stored answer's, else the provider's (stored once complete)."""
        return stream_through(self, lookup, open_stream, prepare)

    def peek_stream(self, lookup: CacheLookup) -> AsyncIterator[StreamChunk] | None:
        """A stored answer's chunks for ``astream()``, if the store can tell without I/O."""
        return peek_stream(self, lookup)

    def afetch_stream(
        self, lookup: CacheLookup, open_stream: Callable[[], AsyncIterator[StreamChunk]]
    ) -> AsyncIterator[StreamChunk]:
        """Async twin of :meth:`fetch_stream`."""
        return astream_through(self, lookup, open_stream)

    def _flow(self, lookup: CacheLookup, started: int) -> Generator[object, Any, LLMResponse]:
        """Everything but the hit path, once, without I/O: it yields what to do.

        Yields ``_READ`` (read the key; send the entry or None), a ``Flight``
        (wait for its leader; send the response), ``_COMPUTE`` (call the
        provider) or ``_PRODUCE`` (call it and store the answer, under the
        cross-process lock if there is one). Errors are thrown in.
        """
        control = lookup.control
        response: LLMResponse
        if control.mode is not True:
            result = yield _PRODUCE if control.writes else _COMPUTE
            if not isinstance(result, _Produced):
                response = result  # what _COMPUTE sends back
                return response
            if self.semantic is not None and result.shared is not None:
                yield from semantic_flow.index(self.semantic, lookup, None)
            return result.response
        while True:
            flight, leader = self._flights.join(lookup.key, lookup)
            if leader:
                break
            try:
                response = yield flight
            except LeaderGone:
                # Its leader was cancelled, or failed for a reason of its own (its
                # credentials, its shorter timeout): join again, perhaps to lead.
                continue
            except CannotWait:
                # This thread runs the leader (a sync call inside a coroutine, with an
                # async call for the key in flight on its loop): waiting would block
                # the leader for good. Call the provider; the leader stores the answer.
                self._miss(lookup, started)
                response = yield _COMPUTE
                return response
            return self._followed(response, lookup, started)
        try:
            # An identical call may have landed between our read and our join.
            entry: CacheEntry | None = yield _READ
            shared: LLMResponse | None = None
            probe = None
            if entry is None and self.semantic is not None:
                # Semantic calls only, and never a stream: those take stream_flow.
                probe = yield from semantic_flow.look_up(self.semantic, lookup, self.store)
            if entry is not None:
                response = self._hit(lookup, entry, started)
            elif probe is not None and probe.match is not None:
                assert self.semantic is not None
                response = semantic_flow.served(self.semantic, lookup, probe.match, started)
            else:
                self._miss(lookup, started)
                produced: _Produced = yield _PRODUCE
                response, shared = produced.response, produced.shared
                if self.semantic is not None and shared is not None:
                    yield from semantic_flow.index(self.semantic, lookup, probe)
        except Exception as exc:
            self._flights.fail(flight, exc)
            raise
        except BaseException:
            self._flights.abandon(flight)
            raise
        # Followers share one copy, frozen, which the leader's caller cannot reach:
        # the stored entry's, frozen already, when the answer was stored.
        self._flights.resolve(flight, shared or frozen_response(response))
        return response

    def _produce(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> _Produced:
        """Compute and store; under ``lock``, unless another process has the answer first."""
        stored: list[CacheEntry] = []

        def produce() -> LLMResponse:
            begun = _perf_ns()
            response = compute()
            stored.extend(self._store(lookup, response, _perf_ns() - begun))
            return response

        if self.lock is None or lookup.control.mode is not True:
            return _produced(produce(), stored)
        return _produced(self.lock.run(lookup.key, self.store, produce, lookup.timeout), stored)

    async def _aproduce(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> _Produced:
        stored: list[CacheEntry] = []

        async def produce() -> LLMResponse:
            begun = _perf_ns()
            response = await compute()
            stored.extend(await self._astore(lookup, response, _perf_ns() - begun))
            return response

        if self.lock is None or lookup.control.mode is not True:
            return _produced(await produce(), stored)
        answer = await self.lock.arun(lookup.key, self.store, produce, lookup.timeout)
        return _produced(answer, stored)

    # Storing an answer the caller has paid for. Whatever happens here, the caller
    # gets the answer: a store error is reported, not raised. And whatever is not
    # stored, no older answer outlives it: a refresh with nothing to store (an empty
    # answer), or a write that fails, removes the old entry (stores themselves drop
    # it when they decline an entry, as too large).

    def _store(
        self, lookup: CacheLookup, response: LLMResponse, compute_ns: int | None = None
    ) -> tuple[CacheEntry, ...]:
        """The entry stored, if one was (as a tuple: none or one).

        ``compute_ns``: how long the answer took to produce, for the put event.
        """
        try:
            entry = self._entry_for(lookup, response)
            if entry is not None:
                self.store.set(lookup.key, entry)
                report_put(lookup.key, entry, compute_ns)
                return (entry,)
            if lookup.control.mode == "refresh":
                self.store.delete(lookup.key)
        except Exception as exc:
            self._put_failed(lookup, exc)
            with contextlib.suppress(Exception):  # reported above; the answer matters more
                self.store.delete(lookup.key)
        return ()

    async def _astore(
        self, lookup: CacheLookup, response: LLMResponse, compute_ns: int | None = None
    ) -> tuple[CacheEntry, ...]:
        try:
            entry = self._entry_for(lookup, response)
            if entry is not None:
                await self.store.aset(lookup.key, entry)
                report_put(lookup.key, entry, compute_ns)
                return (entry,)
            if lookup.control.mode == "refresh":
                await self.store.adelete(lookup.key)
        except Exception as exc:
            self._put_failed(lookup, exc)
            with contextlib.suppress(Exception):
                await self.store.adelete(lookup.key)
        return ()

    def _put_failed(self, lookup: CacheLookup, exc: Exception) -> None:
        report_cache_error(type(self.store).__name__, "put_failed", exc, key=lookup.key)

    def _entry_for(self, lookup: CacheLookup, response: LLMResponse) -> CacheEntry | None:
        if not worth_storing(response):
            return None
        control = lookup.control
        ttl = control.ttl
        return make_entry(
            response,
            lookup.key,
            self.store.clock(),
            self.store.default_ttl if isinstance(ttl, UseDefault) else ttl,
            entry_labels(lookup.provider, lookup.model, control.namespace, control.tags),
            None if self.semantic is None else "exact",
        )

    # Invalidation: the filters are checked (Invalidation) before the store is touched.

    def invalidate(
        self,
        *,
        key: str | None = None,
        tag: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        namespace: str | None = None,
        older_than: float | datetime.timedelta | None = None,
        dry_run: bool = False,
    ) -> int:
        """Remove the stored answers that every given filter matches; returns how many went.

        ``tag`` is one of the calls' ``cache_tags``; ``provider`` and
        ``model`` are as the call named them (``@cached`` functions: provider
        ``"function"``, model the function's qualified name); ``older_than``
        is seconds or a ``timedelta``; ``key`` a ``metadata["cache_key"]``.
        At least one filter is required (``store.clear()`` removes all). Each
        entry removed is an ``explicit`` eviction. Store errors propagate.
        ``dry_run=True`` removes nothing and returns how many would go.
        """
        selector = Invalidation(
            tag=tag,
            provider=provider,
            model=model,
            namespace=namespace,
            older_than=older_than,
            key=key,
        )
        return self.store.invalidate(selector, dry_run=dry_run)

    async def ainvalidate(
        self,
        *,
        key: str | None = None,
        tag: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        namespace: str | None = None,
        older_than: float | datetime.timedelta | None = None,
        dry_run: bool = False,
    ) -> int:
        """Async twin of :meth:`invalidate`."""
        selector = Invalidation(
            tag=tag,
            provider=provider,
            model=model,
            namespace=namespace,
            older_than=older_than,
            key=key,
        )
        return await self.store.ainvalidate(selector, dry_run=dry_run)

    # Warming: the calls are checked, run and counted in exllm_py.cache.warming.

    def warm(
        self,
        calls: Iterable[WarmCall],
        concurrency: int = 4,
        *,
        client: Client | None = None,
        progress: ProgressCallback | None = None,
        dry_run: bool = False,
    ) -> WarmReport:
        """Run ``calls``, each ``(provider, messages, options)``, so that they are cached.

        At most ``concurrency`` at a time, through ``client`` (which must use
        this strategy) or a client made for the run. Every call is checked
        before any is sent (a bad one raises ``ValidationError`` naming its
        index); a call that fails is reported, not raised. Calls already
        cached cost nothing and count as skipped. ``progress`` gets a
        ``WarmProgress`` after each call, in this thread. ``dry_run`` checks
        the calls and counts those cached (``skipped``), sending nothing.
        See :mod:`exllm_py.cache.warming`.
        """
        return warm(self, calls, concurrency, client=client, progress=progress, dry_run=dry_run)

    async def awarm(
        self,
        calls: Iterable[WarmCall],
        concurrency: int = 4,
        *,
        client: Client | None = None,
        progress: ProgressCallback | None = None,
    ) -> WarmReport:
        """Async twin of :meth:`warm`, on at most ``concurrency`` tasks."""
        return await awarm(self, calls, concurrency, client=client, progress=progress)

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        return transport

    def wrap_async_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return transport

    def _hit(self, lookup: CacheLookup, entry: CacheEntry, started: int) -> LLMResponse:
        if telemetry.wanted(telemetry.CACHE_HIT):
            return self._report_hit(lookup, entry, started)
        return entry.response

    def _report_hit(self, lookup: CacheLookup, entry: CacheEntry, started: int) -> LLMResponse:
        """Emit the hit event (someone wants it) and return the entry's response."""
        metadata = entry.response.metadata
        labels = _labels(lookup)
        # "semantic" for a follower sharing its leader's semantic hit.
        labels["match"] = metadata.get("cache_match", "exact")
        tier = metadata.get(TIER_KEY)
        if tier is not None:
            labels[TIER_KEY] = tier  # which tier of a TieredStore answered
        telemetry.emit(
            telemetry.CACHE_HIT,
            {"duration_ns": _perf_ns() - started, "saved_cost_usd": metadata.get("saved_cost")},
            labels,
        )
        return entry.response

    def _followed(self, response: LLMResponse, lookup: CacheLookup, started: int) -> LLMResponse:
        """A follower's copy of the leader's answer: a hit, marked, costing nothing."""
        if not response.metadata.get("from_cache"):
            match = None if self.semantic is None else "exact"
            served = served_from_cache(response, lookup.key, self.store.clock(), match)
            metadata = FrozenDict({**served.metadata, "single_flight": True})
            response = attrs.evolve(served, metadata=metadata)
        entry = CacheEntry(response=response, size=0, stored_at=response.metadata["cached_at"])
        with self._counts_lock:
            self._followers += 1
        return self._hit(lookup, entry, started)

    def _miss(self, lookup: CacheLookup, started: int) -> None:
        with self._counts_lock:
            self._misses += 1
        if telemetry.wanted(telemetry.CACHE_MISS):
            telemetry.emit(
                telemetry.CACHE_MISS, {"duration_ns": _perf_ns() - started}, _labels(lookup)
            )

    def stats(self) -> CacheStats:
        """The store's counters; hits include single-flight followers, misses are provider calls."""
        with self._counts_lock:
            followers, misses = self._followers, self._misses
        stats = self.store.stats()
        if self.semantic is None:
            return attrs.evolve(stats, hits=stats.hits + followers, misses=misses)
        # A candidate read and then refused by the verifier is a store hit the call was not.
        hits = stats.hits + followers - self.semantic.unserved_reads
        return attrs.evolve(stats, hits=hits, misses=misses, semantic_hits=self.semantic.hits)

    def health(self, *, window: float = DEFAULT_WINDOW) -> Mapping[str, Mapping[str, Any]]:
        """Per store (``"memory"``; a tiered store's ``"l1:memory"``, ``"l2:redis"``): its health.

        Each a Mapping: ``ok`` (it answers now), ``breaker`` (its state, or
        None), ``hit_rate`` over the last ``window`` seconds (None: no
        lookup), ``lookups``, ``window_s`` and ``last_error`` (or None). See
        :mod:`exllm_py.cache.health`. Never raises for a store fault.
        """
        return strategy_health(self, window)

    async def ahealth(self, *, window: float = DEFAULT_WINDOW) -> Mapping[str, Mapping[str, Any]]:
        """Async twin of :meth:`health`: the probes run in a worker thread."""
        return await astrategy_health(self, window)

    def in_flight(self) -> int:
        """How many distinct calls are being computed right now."""
        return len(self._flights)

    def waiting(self) -> int:
        """How many calls are waiting for an identical call in flight."""
        return self._flights.waiting()


@attrs.frozen
class _Done:
    response: LLMResponse


@attrs.frozen
class _Produced:
    """What producing gave: the answer, and the followers' frozen copy of it (or None)."""

    response: LLMResponse
    shared: LLMResponse | None


def _produced(response: LLMResponse, stored: list[CacheEntry]) -> _Produced:
    """``response``, with a copy for followers that reuses the stored entry's frozen parts.

    The entry froze ``raw`` and the tool call arguments when it was made: the
    followers' copy takes them from there instead of walking ``raw`` again.
    ``stored`` is empty when nothing was stored, or when another process had
    the answer (``response`` is then what the store gave, not what was produced).
    """
    if not stored:
        return _Produced(response, None)
    entry = stored[0].response
    metadata = response.metadata
    shared = attrs.evolve(
        entry,
        cost=response.cost,
        metadata=metadata if type(metadata) is FrozenDict else deep_freeze(dict(metadata)),
    )
    return _Produced(response, shared)


#: What the flow asks its shell for (besides a Flight to wait on).
_READ = "read"
_COMPUTE = "compute"
_PRODUCE = "produce"


def _send(flow: Generator[object, Any, LLMResponse], value: Any) -> object:
    try:
        return flow.send(value)
    except StopIteration as stop:
        return _Done(stop.value)


def _throw(flow: Generator[object, Any, LLMResponse], exc: BaseException) -> object:
    try:
        return flow.throw(exc)
    except StopIteration as stop:
        return _Done(stop.value)


def report_put(key: str, entry: CacheEntry, compute_ns: int | None = None) -> None:
    """The ``put`` event of ``entry`` stored under ``key``, labelled by the entry's labels.

    Shared with whatever else fills a store (warming from cassettes), so
    that every put reads the same to the metrics bridges.
    """
    if telemetry.wanted(telemetry.CACHE_PUT):
        ttl = None if entry.expires_at is None else entry.expires_at - entry.stored_at
        usage = entry.response.usage  # the provider call's tokens (0: it reported none)
        measurements: dict[str, Any] = {
            "size_bytes": entry.size,
            "ttl_s": ttl,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
        }
        if compute_ns is not None:
            # The provider's latency on a miss: what a later hit saves in time.
            # (A stream's is not measured: it lasts as long as its caller reads.)
            measurements["compute_ns"] = compute_ns
        labels = entry.labels
        metadata = {
            "key": key,
            "provider": labels.provider,
            "model": labels.model,
            "namespace": labels.namespace,
        }
        telemetry.emit(telemetry.CACHE_PUT, measurements, metadata)


def _labels(lookup: CacheLookup) -> dict[str, Any]:
    return {
        "key": lookup.key,
        "provider": lookup.provider,
        "model": lookup.model,
        "namespace": lookup.control.namespace,
    }
