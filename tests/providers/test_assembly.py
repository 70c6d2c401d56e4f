"""Tests of assembling a stream: the streamed answer equals the unstreamed one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

import exllm_py
from exllm_py.assembly import StreamAssembler, assemble, chunks_of
from exllm_py.providers.pricing import cost_of
from exllm_py.types import LLMResponse, ToolCall
from tests.fakes import (
    ProviderServer,
    anthropic_message,
    anthropic_stream_events,
    gemini_response,
    gemini_stream_events,
    json_reply,
    openai_completion,
    openai_stream_events,
    sse_reply,
)
from tests.providers.recorded_traffic import load

CALLS = [
    ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris", "days": [1, 2]}),
    ToolCall(id="call_b", name="get_time", arguments={}),
]
TEXT = "Checking the weather and the time for you."
MESSAGES = [{"role": "user", "content": "Weather and time in Paris?"}]
# (provider, model, non-streamed body, stream events) for the same answer.
EXCHANGES: list[tuple[str, str, Callable[..., Any], Callable[..., Any]]] = [
    ("openai", "gpt-4o-mini", openai_completion, openai_stream_events),
    ("groq", "llama-3.1-8b-instant", openai_completion, openai_stream_events),
    ("anthropic", "claude-3-5-haiku-20241022", anthropic_message, anthropic_stream_events),
    ("gemini", "gemini-2.0-flash", gemini_response, gemini_stream_events),
]


def comparable(response: LLMResponse) -> dict[str, Any]:
    return {
        **{f.name: getattr(response, f.name) for f in attrs.fields(LLMResponse) if f.eq},
        "raw": None,  # one JSON body against a list of event payloads
        "cost": response.cost,
        "native_finish_reason": response.metadata.get("native_finish_reason"),
    }


class TestStreamEqualsChat:
    """Over real HTTP, assemble(stream(...)) equals chat(...) for one exchange, per provider."""

    @pytest.mark.parametrize(("provider", "model", "body", "events"), EXCHANGES)
    @pytest.mark.parametrize("calls", [(), tuple(CALLS)], ids=["text", "tool-calls"])
    def test_same_answer(
        self,
        provider_server: ProviderServer,
        provider: str,
        model: str,
        body: Callable[..., Any],
        events: Callable[..., Any],
        calls: tuple[ToolCall, ...],
    ) -> None:
        provider_server.enqueue(
            json_reply(body(TEXT, model=model, tool_calls=calls)),
            sse_reply(events(TEXT, model=model, tool_calls=calls)),
        )
        options = {"model": model, "base_url": provider_server.url, "api_key": "k", "cache": False}
        chat = exllm_py.chat(provider, MESSAGES, **options)
        streamed = exllm_py.assemble(exllm_py.stream(provider, MESSAGES, **options))
        assert comparable(streamed) == comparable(chat)
        assert streamed.tool_calls == chat.tool_calls
        assert len(chat.tool_calls) == len(calls)
        assert streamed.metadata["from_cache"] is False

    async def test_async_stream_through_an_assembler(self, provider_server: ProviderServer) -> None:
        provider_server.enqueue(sse_reply(anthropic_stream_events(TEXT, tool_calls=CALLS)))
        assembler = StreamAssembler()
        seen = []
        async for chunk in exllm_py.astream(
            "anthropic", MESSAGES, base_url=provider_server.url, api_key="k", cache=False
        ):
            seen.append(assembler.add(chunk).content)
        response = assembler.response()
        assert response.content == "".join(seen) == TEXT
        assert response.tool_calls == tuple(CALLS)
        assert response.finish_reason == "tool_calls"


class TestChunksOf:
    """A response re-emitted as chunks assembles back to itself, raw aside."""

    @pytest.mark.parametrize(
        "name",
        ["anthropic/thinking", "gemini/thinking", "openrouter/tool_call", "openai/cached_prompt"],
    )
    def test_round_trip(self, name: str) -> None:
        response = load(name).response()
        again = assemble(chunks_of(response))
        assert again == attrs.evolve(response, raw=None)
        assert again.metadata == response.metadata
        assert again.cost == cost_of(response.model, response.usage)

    def test_metadata_reaches_every_chunk(self) -> None:
        response = load("anthropic/tool_call").response()
        chunks = chunks_of(response, {"from_cache": True, "cache_key": "k1"})
        assert all(c.metadata["from_cache"] is True for c in chunks)
        assert chunks[-1].metadata["native_finish_reason"] == "tool_use"
        assert assemble(chunks).metadata["cache_key"] == "k1"

    def test_a_cached_stream_costs_nothing(self) -> None:
        response = load("openai/cached_prompt").response()
        response = attrs.evolve(response, model="gpt-4o-mini")
        assert assemble(chunks_of(response, {"from_cache": True})).cost == 0.0
        live = assemble(chunks_of(response)).cost
        assert live == cost_of("gpt-4o-mini", response.usage)
        assert live is not None
        assert live > 0
