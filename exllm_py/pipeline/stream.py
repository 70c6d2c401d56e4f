"""``ChunkDecoder``: bytes of a streamed answer → ``StreamChunk`` objects, without I/O."""

from __future__ import annotations

from exllm_py.errors import ProviderError
from exllm_py.pipeline.call import Call
from exllm_py.providers.sse import ServerSentEvent, SSEDecoder
from exllm_py.types import StreamChunk

__all__ = ["ChunkDecoder"]


class ChunkDecoder:
    """Feeds bytes to an SSE decoder and each event to the provider adapter."""

    def __init__(self, call: Call) -> None:
        assert call.config is not None, "configuration runs first"
        self._adapter = call.config.adapter
        self._provider = call.config.name
        self._events = SSEDecoder()

    def feed(self, data: bytes) -> list[StreamChunk]:
        return self._chunks(self._events.feed(data))

    def close(self) -> list[StreamChunk]:
        return self._chunks(self._events.close())

    def _chunks(self, events: list[ServerSentEvent]) -> list[StreamChunk]:
        chunks = []
        for event in events:
            try:
                chunk = self._adapter.parse_event(event)
            except ProviderError as exc:
                # Adapters name their wire format; the caller asked a provider (groq, …).
                exc.provider = self._provider
                raise
            if chunk is not None:
                chunks.append(chunk)
        return chunks
