"""Streams through :class:`~exllm_py.cache.production.ProductionStrategy`.

A stream is cached as the answer it assembles to, under the same key and in
the same entry as a ``chat()`` of the same request: ``stream=True`` is not
part of the key, because it changes how the answer is delivered, not what
it is. So a stored stream answers an identical ``chat()``, and a stored
``chat()`` answer an identical ``stream()``; either is re-emitted as chunks
(:func:`~exllm_py.assembly.chunks_of`), each marked ``from_cache=True``.

What happens to a stream, written once as a generator that yields what to
do (:func:`stream_flow`), done by a sync and an async shell:

1. ``cache=False``: the provider's chunks, nothing stored (the shells do not
   even start the flow). ``cache="refresh"``: the provider's chunks, and the
   assembled answer stored when the stream ends.
2. A live entry: its chunks (a hit).
3. Else the key's flight, shared with ``chat()`` calls. The leader, a miss,
   reads the store once more, then passes the provider's chunks on as they
   arrive while assembling them; only a stream read to its normal end is
   stored, and only then are the followers woken. Followers get the stored
   answer when the leader's stream completes, re-emitted as chunks marked
   ``single_flight``: they see no chunk before the leader's stream ends, and
   the leader's caller sets the pace. A follower waits at most its call's
   timeout.
4. A leader whose stream fails wakes its followers with the error (as a
   failed ``chat()`` does). A leader whose stream is cancelled, closed, or
   dropped before its end stores nothing and lets the followers join again:
   one of them leads and makes its own call.

Streams take no cross-process lock (``ProductionStrategy(lock=...)``): the
lock runs a callable to completion, and a stream's caller holds the pace.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from exllm_py.assembly import StreamAssembler, chunks_of
from exllm_py.cache.entry import CacheEntry, frozen_response
from exllm_py.cache.singleflight import CannotWait, Flight, LeaderGone, time_left
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.tiered import TIER_KEY
from exllm_py.cache.strategy import CacheLookup
from exllm_py.types import LLMResponse, StreamChunk

if TYPE_CHECKING:
    from exllm_py.cache.production import ProductionStrategy

__all__ = [
    "ServedStream",
    "astream_through",
    "peek_stream",
    "served_chunks",
    "stream_flow",
    "stream_through",
]

_perf_ns = time.perf_counter_ns

#: The metadata of a served response that every chunk of it carries.
_DELIVERY = ("from_cache", "cache_key", "cached_at", "single_flight", TIER_KEY)


def served_chunks(response: LLMResponse) -> tuple[StreamChunk, ...]:
    """A response served from the cache, as the chunks of a stream.

    Every chunk carries how it was delivered (``from_cache``, ``cache_key``,
    ``cached_at``, and ``single_flight`` for a follower); the finishing chunk
    also the provider's ``native_finish_reason``.
    """
    metadata = response.metadata
    return chunks_of(response, {name: metadata[name] for name in _DELIVERY if name in metadata})


if TYPE_CHECKING:
    _Filter = filter[StreamChunk]
else:
    _Filter = filter  # not subscriptable at run time before Python 3.12


class ServedStream(_Filter):
    """A stream served from the cache: its chunks, ready in memory.

    A ``filter`` that lets every chunk through (a chunk is always true), so
    that reading it runs in C, as reading a list does: a Python ``__iter__``
    or a generator would cost a served stream several times that.
    ``close()`` is there for callers that close a stream they leave half
    read; nothing is open.
    """

    __slots__ = ()

    def close(self) -> None:
        """Nothing to release: the chunks are in memory."""


# What the flow asks its shell for, besides a Flight to wait on.


@attrs.frozen
class Serve:
    """Pass these chunks to the caller; send nothing back."""

    chunks: tuple[StreamChunk, ...]


@attrs.frozen
class Store:
    """Store this answer; send back the entries stored (none or one)."""

    response: LLMResponse


#: Read the key; send back the entry or ``None``.
READ = "read"
#: Open the provider's stream and pass its chunks on; send back the assembled
#: answer once it has ended normally (errors, cancellation and closing are thrown in).
RELAY = "relay"


def stream_flow(
    cache: ProductionStrategy, lookup: CacheLookup, started: int
) -> Generator[object, Any, None]:
    """Everything after a first read that found nothing, once, without I/O."""
    if lookup.control.mode is not True:  # "refresh": no read, no flight
        response = yield RELAY
        if response.finish_reason is not None:
            yield Store(response)
        return
    flights = cache._flights
    while True:
        flight, leader = flights.join(lookup.key, lookup)
        if leader:
            break
        try:
            shared: LLMResponse = yield flight
        except LeaderGone:
            continue  # its leader stopped without an answer: join again, perhaps to lead
        except CannotWait:
            # This thread (or task) leads that flight and is parked in it, one stream
            # half read: waiting would never end. Stream for ourselves; the leader stores.
            cache._miss(lookup, started)
            yield RELAY
            return
        yield Serve(served_chunks(cache._followed(shared, lookup, started)))
        return
    hit: LLMResponse | None = None
    try:
        # An identical call may have landed between the first read and the join.
        entry: CacheEntry | None = yield READ
        if entry is not None:
            hit = shared = cache._hit(lookup, entry, started)
        else:
            cache._miss(lookup, started)
            response = yield RELAY
            if response.finish_reason is None:
                # The body ended without the provider saying the answer was done
                # (a cut-off stream): nothing to keep, nothing to hand on.
                flights.abandon(flight)
                return
            yield Store(response)
            # The followers' copy, read-only, marked by each follower as it takes it.
            shared = frozen_response(response)
    except Exception as exc:
        flights.fail(flight, exc)
        raise
    except BaseException:
        # Cancelled, closed or dropped half read: no answer to give the followers.
        flights.abandon(flight)
        raise
    flights.resolve(flight, shared)
    if hit is not None:
        yield Serve(served_chunks(hit))


def stream_through(
    cache: ProductionStrategy,
    lookup: CacheLookup,
    open_stream: Callable[[], Iterator[StreamChunk]],
    prepare: Callable[[], None],
) -> Iterator[StreamChunk]:
    """The sync shell: a hit, decided now, is its chunks ready in memory.

    Anything else is checked now (``prepare``) and streamed on the first chunk.
    """
    control = lookup.control
    if control.mode is True:
        started = _perf_ns()
        entry = cache.store.get(lookup.key)
        if entry is not None:
            return ServedStream(None, served_chunks(cache._hit(lookup, entry, started)))
    prepare()
    if control.mode is False:
        return open_stream()
    return _run(cache, lookup, open_stream)


def _run(
    cache: ProductionStrategy,
    lookup: CacheLookup,
    open_stream: Callable[[], Iterator[StreamChunk]],
) -> Iterator[StreamChunk]:
    started = _perf_ns()
    flow = stream_flow(cache, lookup, started)
    effect: object = next(flow)
    while True:
        try:
            if effect is RELAY:
                assembler = StreamAssembler()
                with _closing(open_stream()) as chunks:
                    for chunk in chunks:
                        yield assembler.add(chunk)
                result: Any = assembler.response()
            elif isinstance(effect, Serve):
                yield from effect.chunks
                result = None
            elif isinstance(effect, Store):
                result = cache._store(lookup, effect.response)
            elif isinstance(effect, Flight):
                result = effect.wait(time_left(lookup.timeout, started), lookup)
            else:
                result = cache.store.get(lookup.key)
        except BaseException as exc:  # handed to the flow, which decides
            effect = _throw(flow, exc)
        else:
            effect = _send(flow, result)
        if effect is _END:
            return


def peek_stream(
    cache: ProductionStrategy, lookup: CacheLookup
) -> AsyncIterator[StreamChunk] | None:
    """A hit's chunks for an async stream, decided now, when the store is in this process.

    A ``MemoryStore`` answers without I/O, so ``astream()`` can skip the steps
    a hit does not need, as ``chat()`` does; any other store is read, awaited,
    on the first chunk (``None`` here).
    """
    if lookup.control.mode is not True or not isinstance(cache.store, MemoryStore):
        return None
    started = _perf_ns()
    entry = cache.store.get(lookup.key)
    if entry is None:
        return None
    return _served_async(served_chunks(cache._hit(lookup, entry, started)))


async def _served_async(chunks: tuple[StreamChunk, ...]) -> AsyncIterator[StreamChunk]:
    for chunk in chunks:
        yield chunk


async def astream_through(
    cache: ProductionStrategy,
    lookup: CacheLookup,
    open_stream: Callable[[], AsyncIterator[StreamChunk]],
) -> AsyncIterator[StreamChunk]:
    """The async shell: the same flow, its reads and waits awaited."""
    control = lookup.control
    if control.mode is False:
        async with _aclosing(open_stream()) as live:
            async for chunk in live:
                yield chunk
        return
    started = _perf_ns()
    if control.mode is True:
        entry = await cache.store.aget(lookup.key)
        if entry is not None:
            for chunk in served_chunks(cache._hit(lookup, entry, started)):
                yield chunk
            return
    flow = stream_flow(cache, lookup, started)
    effect: object = next(flow)
    while True:
        try:
            if effect is RELAY:
                assembler = StreamAssembler()
                async with _aclosing(open_stream()) as chunks:
                    async for chunk in chunks:
                        yield assembler.add(chunk)
                result: Any = assembler.response()
            elif isinstance(effect, Serve):
                for chunk in effect.chunks:
                    yield chunk
                result = None
            elif isinstance(effect, Store):
                result = await cache._astore(lookup, effect.response)
            elif isinstance(effect, Flight):
                result = await effect.await_(time_left(lookup.timeout, started), lookup)
            else:
                result = await cache.store.aget(lookup.key)
        except BaseException as exc:  # handed to the flow, which decides
            effect = _throw(flow, exc)
        else:
            effect = _send(flow, result)
        if effect is _END:
            return


@contextlib.contextmanager
def _closing(chunks: Iterator[StreamChunk]) -> Iterator[Iterator[StreamChunk]]:
    # A stream left half read is closed now, not when collected: its connection
    # goes back (or away) at once, and its own cleanup runs in this call.
    try:
        yield chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


@contextlib.asynccontextmanager
async def _aclosing(
    chunks: AsyncIterator[StreamChunk],
) -> AsyncIterator[AsyncIterator[StreamChunk]]:
    try:
        yield chunks
    finally:
        aclose = getattr(chunks, "aclose", None)
        # Unless it is being closed already: a loop shutting down closes every
        # async generator left open at once, this one's stream among them.
        if aclose is not None and not getattr(chunks, "ag_running", False):
            await aclose()


#: What the shells see once the flow has returned.
_END = object()


def _send(flow: Generator[object, Any, None], value: Any) -> object:
    try:
        return flow.send(value)
    except StopIteration:
        return _END


def _throw(flow: Generator[object, Any, None], exc: BaseException) -> object:
    try:
        return flow.throw(exc)
    except StopIteration:
        return _END
