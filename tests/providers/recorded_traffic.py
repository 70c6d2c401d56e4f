"""Real provider answers, recorded against the live APIs by another open-source project.

Each file under ``recorded/`` holds one response as the provider sent it:
``status``, and either ``body`` (the decoded JSON) or ``sse`` (the event
stream's text, byte for byte); ``recorded/SOURCES.md`` names where each
came from. :meth:`Recording.payloads` reads the stream with nothing of
exllm_py's (blank-line blocks, ``data:`` lines, ``json.loads``), so tests take
their expected values from the raw traffic, never from the parsers under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from exllm_py.cache.nocache import NoCache
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.stream import ChunkDecoder
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.registry import PROVIDERS
from exllm_py.types import LLMResponse, StreamChunk

__all__ = ["RECORDED", "Recording", "config_for", "load"]

RECORDED = Path(__file__).parent / "recorded"


def config_for(provider: str) -> ProviderConfig:
    spec = PROVIDERS[provider]
    return ProviderConfig(name=provider, adapter=spec.adapter, base_url=spec.base_url, api_key=None)


@attrs.frozen
class Recording:
    """One recorded response of ``provider``."""

    name: str
    provider: str
    status: int
    body: Any = None
    sse: str | None = None

    @property
    def events(self) -> list[tuple[str, Any]]:
        """``(event type, JSON payload)`` of each event carrying JSON, in order."""
        assert self.sse is not None, f"{self.name} is not a stream"
        events = []
        for block in self.sse.replace("\r\n", "\n").split("\n\n"):
            lines = block.split("\n")
            data = "\n".join(line[5:].lstrip() for line in lines if line.startswith("data:"))
            if not data or data == "[DONE]":
                continue
            kinds = [line[6:].strip() for line in lines if line.startswith("event:")]
            events.append((kinds[0] if kinds else "message", json.loads(data)))
        return events

    @property
    def payloads(self) -> list[Any]:
        return [payload for _, payload in self.events]

    def response(self) -> LLMResponse:
        """The non-streamed body, as the provider's adapter reads it."""
        return config_for(self.provider).adapter.parse_response(
            self.body, config_for(self.provider)
        )

    def chunks(self, read_size: int | None = None) -> list[StreamChunk]:
        """The stream as the pipeline's decoder yields it, bytes read ``read_size`` at a time."""
        return list(self.iter_chunks(read_size))

    def iter_chunks(self, read_size: int | None = None) -> Iterator[StreamChunk]:
        assert self.sse is not None, f"{self.name} is not a stream"
        data = self.sse.encode()
        size = read_size or len(data)
        decoder = ChunkDecoder(self.call())
        for start in range(0, len(data), size):
            yield from decoder.feed(data[start : start + size])
        yield from decoder.close()

    def call(self) -> Call:
        return Call(
            provider=self.provider,
            messages=[],
            options={},
            strategy=NoCache(),
            env={},
            stream=True,
            model="asked-model",
            config=config_for(self.provider),
        )


def load(name: str) -> Recording:
    """The recording ``recorded/<name>.json`` (``"gemini/stream_tool_call"``)."""
    document = json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))
    return Recording(
        name=name,
        provider=document["provider"],
        status=document["status"],
        body=document.get("body"),
        sse=document.get("sse"),
    )
