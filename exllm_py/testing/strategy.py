"""``TestStrategy``: the cache strategy of test runs, and the cassette in use right now.

Outside a recording test the strategy behaves exactly as its delegate (a
:class:`~exllm_py.cache.production.ProductionStrategy` unless given), so
unit tests see production caching. While a test records or replays
(:func:`use_cassette`, which the pytest plugin enters for each ``live_api``
test), the response cache is bypassed, so every call reaches the HTTP layer,
where the :class:`~exllm_py.testing.transport.RecordingTransport` the
strategy wrapped around the client's transport answers from the cassette or
records.

The cassette in use is process-wide, not per task or thread: pytest runs one
test at a time per process, and a test's calls may come from threads or
event loops it starts. So are the hosts that pass through unrecorded
(:mod:`~exllm_py.testing.passthrough`), which every recorder reads through
:func:`active_passthrough`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import attrs
import httpx

from exllm_py.cache.arguments import check_strategy
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.strategy import CacheLookup, CacheStrategy
from exllm_py.testing.cassette import Cassette, RecordMode
from exllm_py.testing.matching import Matcher
from exllm_py.testing.passthrough import passes_through
from exllm_py.testing.transport import AsyncRecordingTransport, RecordingTransport
from exllm_py.types import LLMResponse, StreamChunk

__all__ = [
    "TestStrategy",
    "active_cassette",
    "active_passthrough",
    "recording",
    "use_cassette",
]


@attrs.define
class _Active:
    """What a running recording test set: whether one runs, and its cassette (if cached)."""

    live: bool = False
    cassette: Cassette | None = None
    passthrough: frozenset[str] = frozenset()


_active = _Active()
_active_lock = threading.Lock()


def active_cassette() -> Cassette | None:
    """The cassette of the recording test running now, if any."""
    return _active.cassette


def active_passthrough(url: httpx.URL) -> bool:
    """Whether the recording test running now lets requests to ``url`` pass unrecorded."""
    hosts = _active.passthrough
    # Most tests name no host: one attribute read, no URL parsing.
    return bool(hosts) and passes_through(hosts, url)


@contextmanager
def recording(
    cassette: Cassette | None, *, passthrough_hosts: frozenset[str] = frozenset()
) -> Iterator[Cassette | None]:
    """Route calls through ``cassette`` while the block runs (no load, no save).

    ``None`` still marks a live test, with no cache at all: calls bypass the
    response cache and go to the network (``EXLLM_TEST_CACHE_ENABLED=false``).
    Requests to ``passthrough_hosts`` (see :mod:`~exllm_py.testing.passthrough`)
    are neither recorded nor replayed.
    """
    global _active
    with _active_lock:
        previous, _active = (
            _active,
            _Active(live=True, cassette=cassette, passthrough=passthrough_hosts),
        )
    try:
        yield cassette
    finally:
        with _active_lock:
            _active = previous


@contextmanager
def use_cassette(
    path: Path | str,
    *,
    mode: RecordMode | str = RecordMode.ONCE,
    ignore_headers: tuple[str, ...] = (),
    ignore_body_paths: tuple[str, ...] = (),
    test_id: str = "",
    secrets: Mapping[str, str] | None = None,
) -> Iterator[Cassette]:
    """Open the cassette at ``path``, record or replay through it, then save it.

    The same as a ``live_api`` test does, for code outside pytest::

        with use_cassette("cassettes/demo.json", mode="once"):
            exllm_py.chat("openai", [{"role": "user", "content": "Hi"}])

    What was recorded is saved even if the block raised: recordings are real
    answers. Only clients whose strategy is a :class:`TestStrategy` take part
    (``EXLLM_CACHE_STRATEGY=test`` makes it the default), and clients from
    :func:`~exllm_py.testing.http_client` and
    :func:`~exllm_py.testing.async_http_client`: unlike a ``live_api`` test,
    this block patches nothing.
    """
    cassette = Cassette.open(
        Path(path),
        mode=mode,
        matcher=Matcher(frozenset(ignore_headers), tuple(ignore_body_paths)),
        test_id=test_id,
        secrets=secrets,
    )
    try:
        with recording(cassette):
            yield cassette
    finally:
        cassette.save()


class TestStrategy:
    """Production caching outside recording tests; HTTP-level record/replay inside them."""

    # Not a test class, despite its name: keep pytest from collecting it.
    __test__ = False

    def __init__(self, delegate: CacheStrategy | None = None) -> None:
        if delegate is not None:
            check_strategy("TestStrategy delegate", delegate)
        self._delegate = delegate
        # Given no delegate, this strategy makes its own production cache, and
        # may start it afresh (reset); a delegate given here is the caller's.
        self._owns_delegate = delegate is None
        self._lock = threading.Lock()

    @property
    def delegate(self) -> CacheStrategy:
        """The strategy used outside recording tests, created on first use."""
        delegate = self._delegate
        if delegate is None:
            with self._lock:
                if self._delegate is None:
                    # Imported here: the production cache is not needed until
                    # a call runs outside a recording test.
                    from exllm_py.cache.production import ProductionStrategy

                    self._delegate = ProductionStrategy()
                delegate = self._delegate
        return delegate

    def reset(self) -> bool:
        """Start a fresh production cache, when the delegate is the one this strategy made.

        The pytest plugin calls this before each test, so no test is answered
        from another's cache. A delegate given to the constructor belongs to
        the caller and is never touched. Returns whether the cache was reset.
        """
        if not self._owns_delegate:
            return False
        # Dropping the delegate is enough: the next call creates a new one. The
        # production cache wraps no transport, so clients already built over
        # this strategy hold nothing of the old one.
        with self._lock:
            self._delegate = None
        return True

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        if _active.live:
            return compute()
        return self.delegate.fetch(lookup, compute)

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        if _active.live:
            return await compute()
        return await self.delegate.afetch(lookup, compute)

    # Streams as chat: the delegate's cache outside recording tests, when it
    # caches streams; the provider (recorded or replayed) inside them.

    def fetch_stream(
        self,
        lookup: CacheLookup,
        open_stream: Callable[[], Iterator[StreamChunk]],
        prepare: Callable[[], None],
    ) -> Iterator[StreamChunk]:
        fetch = None if _active.live else getattr(self.delegate, "fetch_stream", None)
        if fetch is None:
            prepare()
            return open_stream()
        chunks: Iterator[StreamChunk] = fetch(lookup, open_stream, prepare)
        return chunks

    def peek_stream(self, lookup: CacheLookup) -> AsyncIterator[StreamChunk] | None:
        peek = None if _active.live else getattr(self.delegate, "peek_stream", None)
        if peek is None:
            return None
        served: AsyncIterator[StreamChunk] | None = peek(lookup)
        return served

    def afetch_stream(
        self, lookup: CacheLookup, open_stream: Callable[[], AsyncIterator[StreamChunk]]
    ) -> AsyncIterator[StreamChunk]:
        fetch = None if _active.live else getattr(self.delegate, "afetch_stream", None)
        if fetch is None:
            return open_stream()
        chunks: AsyncIterator[StreamChunk] = fetch(lookup, open_stream)
        return chunks

    # A delegate this strategy made is a ProductionStrategy, which wraps no
    # transport: it is not created (nor the production cache imported) just to
    # build the stack, so a replayed first call does not pay for it.

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        inner = transport if self._owns_delegate else self.delegate.wrap_transport(transport)
        return RecordingTransport(inner, active_cassette, active_passthrough)

    def wrap_async_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        owned = self._owns_delegate
        inner = transport if owned else self.delegate.wrap_async_transport(transport)
        return AsyncRecordingTransport(inner, active_cassette, active_passthrough)

    def stats(self) -> CacheStats:
        """The delegate's counters (replays and recordings are reported through telemetry)."""
        return self.delegate.stats()

    def __repr__(self) -> str:
        delegate = type(self._delegate).__name__ if self._delegate is not None else "not created"
        return f"<TestStrategy delegate={delegate}>"
