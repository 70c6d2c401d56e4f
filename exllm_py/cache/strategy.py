"""The ``CacheStrategy`` protocol: the pipeline's one cache decision point.

A strategy that also caches streams implements :class:`StreamCaching`; the
pipeline streams straight from the provider through any other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import NamedTuple, Protocol

import httpx

from exllm_py.cache.stats import CacheStats
from exllm_py.request import CacheControl
from exllm_py.types import LLMResponse, StreamChunk

__all__ = ["CacheLookup", "CacheStrategy", "Caller", "StreamCaching"]


class Caller(Protocol):
    """Who makes a call, as far as sharing its outcome with identical calls goes."""

    def credential(self) -> str | None:
        """The API key the call sends, or ``None``; asked only when an error may not be shared."""
        ...


# A NamedTuple rather than a frozen attrs class: one is built per call on the
# cache-hit path, and a tuple is built in a third of the time. Immutable all the same.
class CacheLookup(NamedTuple):
    """What a strategy gets to decide on: the key, the call's controls, and labels for telemetry."""

    key: str
    control: CacheControl
    provider: str
    model: str
    #: Seconds the caller is prepared to wait (single-flight followers wait at most this).
    timeout: float | None = None
    #: Who asks: single-flight hands an error caused by credentials only to callers
    #: that send the same ones (``None``: to every caller).
    caller: Caller | None = None


class CacheStrategy(Protocol):
    """Decides, for each non-streaming call, whether to read, compute, write or bypass.

    The contract:

    - ``fetch(lookup, compute)`` returns the response for ``lookup``: from its
      store when ``lookup.control.reads`` and it has one (marked
      ``from_cache=True``, with ``cache_key`` and ``cached_at`` in metadata),
      else by calling ``compute()`` exactly once and, when
      ``lookup.control.writes``, storing the result. Errors from ``compute``
      propagate unchanged and are never stored; neither are empty responses.
      ``afetch`` is the same decision for async callers, with an async compute.
    - ``wrap_transport`` / ``wrap_async_transport`` let a strategy sit at the
      HTTP level: the client builds its httpx clients from the transports they
      return. Strategies that work at the response level return their
      argument unchanged.
    - ``stats()`` reports the strategy's counters.

    Implementations must be safe to call from many threads and tasks at once.
    """

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse: ...

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse: ...

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport: ...

    def wrap_async_transport(
        self, transport: httpx.AsyncBaseTransport
    ) -> httpx.AsyncBaseTransport: ...

    def stats(self) -> CacheStats: ...


class StreamCaching(Protocol):
    """A strategy that serves and stores streams too (the pipeline looks for these methods).

    The contract, for ``stream()`` as ``fetch`` is for ``chat()``:

    - ``fetch_stream(lookup, open_stream, prepare)`` returns the chunks for ``lookup``:
      a stored answer re-emitted as chunks (each marked ``from_cache=True``)
      when ``lookup.control.reads`` and there is one, else the chunks of
      ``open_stream()``, called at most once, passed on as they arrive. When
      ``lookup.control.writes``, a stream read to its normal end stores its
      assembled answer; one that is cancelled, fails or is left unfinished
      stores nothing. Errors propagate unchanged. ``prepare()`` finishes
      checking the call: it is called before ``fetch_stream`` returns unless
      the chunks come from the store (its errors propagate).
    - ``afetch_stream`` is the same for async callers, with an async stream
      and a call checked in full beforehand.
    - ``peek_stream(lookup)``, asked before that check, returns a stored
      answer's chunks when the strategy can tell without I/O, else ``None``.
    """

    def fetch_stream(
        self,
        lookup: CacheLookup,
        open_stream: Callable[[], Iterator[StreamChunk]],
        prepare: Callable[[], None],
    ) -> Iterator[StreamChunk]: ...

    def afetch_stream(
        self, lookup: CacheLookup, open_stream: Callable[[], AsyncIterator[StreamChunk]]
    ) -> AsyncIterator[StreamChunk]: ...

    def peek_stream(self, lookup: CacheLookup) -> AsyncIterator[StreamChunk] | None: ...
