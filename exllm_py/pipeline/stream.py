"""Streams in the pipeline: bytes → ``StreamChunk`` objects, and the way through the cache.

:class:`ChunkDecoder` reads a streamed answer without I/O;
:func:`through_cache` / :func:`athrough_cache` hand a prepared stream to the
call's strategy when it caches streams
(:class:`~exllm_py.cache.strategy.StreamCaching`), else open it directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

from exllm_py.errors import ProviderError
from exllm_py.pipeline.cache_lookup import derive_lookup
from exllm_py.pipeline.call import Call
from exllm_py.providers.sse import ServerSentEvent, SSEDecoder
from exllm_py.types import StreamChunk

__all__ = ["ChunkDecoder", "athrough_cache", "served_from_memory", "through_cache"]


def through_cache(
    call: Call,
    open_stream: Callable[[], Iterator[StreamChunk]],
    prepare: Callable[[], None],
) -> Iterator[StreamChunk]:
    """The chunks of a stream call, through its strategy if that caches streams.

    ``call`` has been through the steps before the cache step; ``prepare``
    runs the rest, before this returns, unless the stream is served from the
    cache. Decided when called: a served stream is ready before its first
    chunk is asked for; a live one opens on the first.
    """
    # A method looked up, not an isinstance() on a runtime Protocol: a tenth of the cost.
    fetch = None if _several_choices(call) else getattr(call.strategy, "fetch_stream", None)
    if fetch is None:
        prepare()
        return open_stream()
    chunks: Iterator[StreamChunk] = fetch(derive_lookup(call), open_stream, prepare)
    return chunks


def served_from_memory(call: Call) -> AsyncIterator[StreamChunk] | None:
    """An async stream's chunks, when its strategy holds them in memory; else ``None``.

    Asked when ``astream()`` is called, before the steps after the cache step,
    so that a hit skips them as a ``chat()`` hit does. A strategy that would
    need I/O to know answers ``None``: its store is read on the first chunk.
    """
    peek = None if _several_choices(call) else getattr(call.strategy, "peek_stream", None)
    if peek is None:
        return None
    served: AsyncIterator[StreamChunk] | None = peek(derive_lookup(call))
    return served


def athrough_cache(
    call: Call, open_stream: Callable[[], AsyncIterator[StreamChunk]]
) -> AsyncIterator[StreamChunk]:
    """Async twin of :func:`through_cache`, for a call through every step before the exchange.

    The strategy reads its store on the first chunk (reads are awaited), so
    the call is validated in full beforehand, hit or not.
    """
    fetch = None if _several_choices(call) else getattr(call.strategy, "afetch_stream", None)
    if fetch is None:
        return open_stream()
    chunks: AsyncIterator[StreamChunk] = fetch(derive_lookup(call), open_stream)
    return chunks


def _several_choices(call: Call) -> bool:
    """Whether the call asks for ``n`` > 1 answers: never a cached stream.

    Their chunks interleave, and one stream cannot be stored as one answer.
    """
    n = call.options.get("n")
    return n is not None and n != 1


class ChunkDecoder:
    """Feeds bytes to an SSE decoder and each event to the provider's reader for this stream.

    ``feed`` and ``close`` yield chunks one at a time, reading each event only
    when the caller asks for the next chunk: an error event raises after every
    chunk before it has reached the caller, however the network split the bytes.
    """

    def __init__(self, call: Call) -> None:
        assert call.config is not None, "configuration runs first"
        self._reader = call.config.adapter.stream_reader(call.config.name, call.model)
        self._provider = call.config.name
        self._events = SSEDecoder()

    def feed(self, data: bytes) -> Iterator[StreamChunk]:
        return self._chunks(self._events.feed(data))

    def close(self) -> Iterator[StreamChunk]:
        return self._chunks(self._events.close())

    def _chunks(self, events: list[ServerSentEvent]) -> Iterator[StreamChunk]:
        read = self._reader.read
        for event in events:
            try:
                chunk = read(event)
            except ProviderError as exc:
                # Adapters name their wire format; the caller asked a provider (groq, …).
                exc.provider = self._provider
                raise
            if chunk is not None:
                yield chunk
