"""Property tests: every adapter reassembles a stream however its bytes are cut."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from exllm_py.providers.adapter import ProviderAdapter
from exllm_py.providers.anthropic import AnthropicAdapter
from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.openai import OpenAIAdapter
from exllm_py.providers.sse import SSEDecoder
from tests.fakes import (
    SSEEvent,
    anthropic_stream_events,
    gemini_stream_events,
    openai_stream_events,
)

FORMATS: list[tuple[ProviderAdapter, Callable[[str], list[SSEEvent]]]] = [
    (OpenAIAdapter(), openai_stream_events),
    (AnthropicAdapter(), anthropic_stream_events),
    (GeminiAdapter(), gemini_stream_events),
]


def reassemble(adapter: ProviderAdapter, data: bytes, cuts: list[int]) -> tuple[str, list[str]]:
    decoder = SSEDecoder()
    events = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        events.extend(decoder.feed(data[start:cut]))
        start = cut
    events.extend(decoder.close())
    reader = adapter.stream_reader("test", "model")
    chunks = [chunk for e in events if (chunk := reader.read(e)) is not None]
    finishes = [c.finish_reason for c in chunks if c.finish_reason]
    return "".join(c.content for c in chunks), finishes


class TestChunkBoundaries:
    """Text and finish reason do not depend on where the network split the bytes."""

    @given(
        text=st.text(min_size=1).filter(str.strip),
        cut_fractions=st.lists(st.floats(min_value=0, max_value=1), max_size=12),
    )
    def test_every_format(self, text: str, cut_fractions: list[float]) -> None:
        for adapter, events in FORMATS:
            data = b"".join(event.encode() for event in events(text))
            cuts = [int(fraction * len(data)) for fraction in cut_fractions]
            assert reassemble(adapter, data, cuts) == (text, ["stop"])
