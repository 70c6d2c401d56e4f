"""The parsers against real traffic: responses other projects recorded from the live APIs.

Expected values are read from the raw bodies and event streams in each test
(see :mod:`tests.providers.recorded_traffic`), never from a parser's output.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from exllm_py.assembly import assemble
from exllm_py.errors import AuthenticationError, ProviderError, RateLimitError
from exllm_py.providers.http_errors import error_for_response
from exllm_py.providers.pricing import price_of
from exllm_py.types import StreamChunk
from tests.providers.recorded_traffic import Recording, config_for, load

READ_SIZES = [1, 5, None]  # None: the whole body in one read


def error_of(recording: Recording) -> ProviderError:
    return error_for_response(
        recording.status,
        httpx.Headers(),
        json.dumps(recording.body).encode(),
        provider=recording.provider,
        adapter=config_for(recording.provider).adapter,
    )


def openai_deltas(recording: Recording, field: str) -> str:
    return "".join(
        str(choice["delta"].get(field) or "")
        for payload in recording.payloads
        for choice in payload.get("choices") or ()
        if isinstance(choice["delta"].get(field) or "", str)
    )


class TestOpenAIShapes:
    """Chat-completions bodies from OpenAI and the compatible servers read field by field."""

    def test_cached_prompt_tokens(self) -> None:
        recording = load("openai/cached_prompt")
        usage = recording.body["usage"]
        response = recording.response()
        assert response.content == recording.body["choices"][0]["message"]["content"]
        assert response.usage.input_tokens == usage["prompt_tokens"]
        assert response.usage.cache_read_tokens == usage["prompt_tokens_details"]["cached_tokens"]
        assert response.usage.output_tokens == usage["completion_tokens"]

    def test_reasoning_tokens(self) -> None:
        recording = load("openai/reasoning_tokens")
        details = recording.body["usage"]["completion_tokens_details"]
        response = recording.response()
        assert response.usage.reasoning_tokens == details["reasoning_tokens"] > 0
        assert response.reasoning == ""  # OpenAI sends the count, never the text

    @pytest.mark.parametrize("name", ["openai/tool_call", "openrouter/tool_call"])
    def test_tool_call(self, name: str) -> None:
        recording = load(name)
        choice = recording.body["choices"][0]
        raw_call = choice["message"]["tool_calls"][0]
        (call,) = recording.response().tool_calls
        assert call.id == raw_call["id"]
        assert call.name == raw_call["function"]["name"]
        assert call.arguments == json.loads(raw_call["function"]["arguments"])
        assert choice["finish_reason"] == "tool_calls"
        assert recording.response().finish_reason == "tool_calls"

    def test_stream_text_and_usage(self) -> None:
        recording = load("openai/stream_text")
        (last,) = [p for p in recording.payloads if p.get("usage")]
        response = assemble(recording.chunks())
        assert response.content == openai_deltas(recording, "content")
        assert response.usage.input_tokens == last["usage"]["prompt_tokens"]
        assert response.usage.output_tokens == last["usage"]["completion_tokens"]
        assert response.id == recording.payloads[0]["id"]
        assert response.model == recording.payloads[0]["model"]

    def test_stream_tool_call_arguments_are_whole(self) -> None:
        recording = load("openai/stream_tool_call")
        fragments = [
            call
            for payload in recording.payloads
            for choice in payload.get("choices") or ()
            for call in choice["delta"].get("tool_calls") or ()
        ]
        first = fragments[0]
        arguments = "".join(call["function"].get("arguments") or "" for call in fragments)
        chunks = recording.chunks()
        assert sum(len(chunk.tool_calls) for chunk in chunks) == len(fragments)
        (call,) = assemble(chunks).tool_calls
        assert (call.id, call.name) == (first["id"], first["function"]["name"])
        assert call.arguments == json.loads(arguments)
        assert assemble(chunks).finish_reason == "tool_calls"

    def test_error_body(self) -> None:
        recording = load("openai/error_400")
        error = error_of(recording)
        assert type(error) is ProviderError
        assert error.status == 400
        assert str(error).endswith(recording.body["error"]["message"])


class TestReasoning:
    """Thinking the provider returns apart from the answer lands in reasoning, never in content."""

    def test_anthropic_thinking_blocks(self) -> None:
        recording = load("anthropic/thinking")
        blocks = recording.body["content"]
        response = recording.response()
        thinking = "".join(b["thinking"] for b in blocks if b["type"] == "thinking")
        assert thinking
        assert response.reasoning == thinking
        assert response.content == "".join(b["text"] for b in blocks if b["type"] == "text")
        assert thinking not in response.content

    def test_anthropic_redacted_thinking_shows_no_text(self) -> None:
        recording = load("anthropic/redacted_thinking")
        blocks = recording.body["content"]
        redacted = [b["data"] for b in blocks if b["type"] == "redacted_thinking"]
        response = recording.response()
        assert redacted
        assert response.content == "".join(b["text"] for b in blocks if b["type"] == "text")
        assert all(data not in response.content + response.reasoning for data in redacted)

    @pytest.mark.parametrize(
        "name", ["anthropic/stream_thinking", "anthropic/stream_redacted_thinking"]
    )
    def test_anthropic_stream(self, name: str) -> None:
        recording = load(name)
        deltas = [p["delta"] for p in recording.payloads if p["type"] == "content_block_delta"]
        response = assemble(recording.chunks())
        assert response.content == "".join(d["text"] for d in deltas if d["type"] == "text_delta")
        assert response.reasoning == "".join(
            d["thinking"] for d in deltas if d["type"] == "thinking_delta"
        )

    @pytest.mark.parametrize("name", ["gemini/thinking", "gemini/stream_thinking"])
    def test_gemini_thought_parts(self, name: str) -> None:
        recording = load(name)
        bodies = [recording.body] if recording.sse is None else recording.payloads
        parts = [
            part
            for body in bodies
            for candidate in body.get("candidates") or ()
            for part in (candidate.get("content") or {}).get("parts") or ()
        ]
        response = recording.response() if recording.sse is None else assemble(recording.chunks())
        thoughts = "".join(p["text"] for p in parts if p.get("thought") and "text" in p)
        assert thoughts
        assert response.reasoning == thoughts
        assert response.content == "".join(
            p["text"] for p in parts if not p.get("thought") and "text" in p
        )
        usage = bodies[-1]["usageMetadata"]
        assert response.usage.reasoning_tokens == usage["thoughtsTokenCount"]
        assert response.usage.output_tokens == (
            usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
        )

    @pytest.mark.parametrize(
        ("name", "field"),
        [("ollama/tool_call", "reasoning"), ("ollama/local", "reasoning")],
    )
    def test_reasoning_field(self, name: str, field: str) -> None:
        recording = load(name)
        message = recording.body["choices"][0]["message"]
        response = recording.response()
        assert message[field]
        assert response.reasoning == message[field]
        assert response.content == message["content"]

    @pytest.mark.parametrize("name", ["openrouter/stream_reasoning", "groq/stream_thinking"])
    def test_streamed_reasoning_field(self, name: str) -> None:
        recording = load(name)
        response = assemble(recording.chunks())
        assert response.reasoning
        assert response.reasoning == openai_deltas(recording, "reasoning")
        assert response.content == openai_deltas(recording, "content")

    def test_mistral_thinking_parts(self) -> None:
        recording = load("mistral/thinking")
        parts = recording.body["choices"][0]["message"]["content"]
        response = recording.response()
        thinking = "".join(
            piece["text"] for p in parts if p["type"] == "thinking" for piece in p["thinking"]
        )
        assert thinking
        assert response.reasoning == thinking
        assert response.content == "".join(p["text"] for p in parts if p["type"] == "text")

    def test_mistral_streamed_thinking_parts(self) -> None:
        recording = load("mistral/stream_thinking")
        thinking, text = [], []
        for payload in recording.payloads:
            content = payload["choices"][0]["delta"].get("content")
            if isinstance(content, str):
                text.append(content)
                continue
            for part in content or ():
                if part["type"] == "thinking":
                    thinking.extend(piece["text"] for piece in part["thinking"])
                elif part["type"] == "text":
                    text.append(part["text"])
        response = assemble(recording.chunks())
        assert response.reasoning == "".join(thinking) != ""
        assert response.content == "".join(text)

    def test_groq_raw_think_tags_stay_in_content(self) -> None:
        recording = load("groq/thinking")
        content = recording.body["choices"][0]["message"]["content"]
        response = recording.response()
        assert "<think>" in content
        assert response.content == content
        assert response.reasoning == ""


class TestCacheUsage:
    """Prompt-cache reads and writes are counted apart, inside the input tokens."""

    @pytest.mark.parametrize("name", ["anthropic/cache_write", "anthropic/cache_read"])
    def test_anthropic(self, name: str) -> None:
        recording = load(name)
        usage = recording.body["usage"]
        response = recording.response()
        read, write = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
        assert response.usage.cache_read_tokens == read
        assert response.usage.cache_write_tokens == write
        assert response.usage.input_tokens == usage["input_tokens"] + read + write

    def test_anthropic_stream_usage_joins_start_and_delta(self) -> None:
        recording = load("anthropic/stream_cache")
        start = next(p for p in recording.payloads if p["type"] == "message_start")
        delta = next(p for p in recording.payloads if p["type"] == "message_delta")
        response = assemble(recording.chunks())
        assert response.usage.output_tokens == delta["usage"]["output_tokens"]
        counted = {**start["message"]["usage"], **delta["usage"]}
        assert response.usage.input_tokens == sum(
            counted.get(field) or 0
            for field in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        )

    def test_gemini_cached_content(self) -> None:
        recording = load("gemini/cached_content")
        usage = recording.body["usageMetadata"]
        response = recording.response()
        assert response.usage.cache_read_tokens == usage["cachedContentTokenCount"] > 0
        assert response.usage.input_tokens == usage["promptTokenCount"]

    @pytest.mark.parametrize("name", ["mistral/cached_prompt", "openrouter/grok_reasoning_cache"])
    def test_openai_shape(self, name: str) -> None:
        recording = load(name)
        usage = recording.body["usage"]
        response = recording.response()
        assert response.usage.cache_read_tokens == usage["prompt_tokens_details"]["cached_tokens"]
        reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
        assert response.usage.reasoning_tokens == reasoning

    def test_cached_tokens_are_priced_apart(self) -> None:
        response = load("anthropic/cache_read").response()
        price = price_of(response.model)
        assert price is not None
        assert price.cache_read is not None
        assert price.cache_write is not None
        usage = response.usage
        plain = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
        expected = (
            plain * price.input
            + usage.cache_read_tokens * price.cache_read
            + usage.cache_write_tokens * price.cache_write
            + usage.output_tokens * price.output
        ) / 1_000_000
        assert price.cost(usage) == pytest.approx(expected)
        assert price.cost(usage) < price.input * usage.input_tokens / 1e6 + (
            price.output * usage.output_tokens / 1e6
        )


class TestGeminiStreamFinish:
    """A Gemini stream that called a function ends in tool_calls, as the same answer unstreamed."""

    def test_call_and_stop_in_separate_events(self) -> None:
        recording = load("gemini/stream_tool_call")
        payloads = recording.payloads
        calls = [
            i
            for i, p in enumerate(payloads)
            if any("functionCall" in part for part in p["candidates"][0]["content"]["parts"])
        ]
        stops = [i for i, p in enumerate(payloads) if p["candidates"][0].get("finishReason")]
        assert calls
        assert stops
        assert max(calls) < min(stops)
        chunks = recording.chunks()
        response = assemble(chunks)
        assert response.finish_reason == "tool_calls"
        assert (
            response.metadata["native_finish_reason"]
            == payloads[stops[-1]]["candidates"][0]["finishReason"]
        )
        (call,) = response.tool_calls
        raw = payloads[calls[0]]["candidates"][0]["content"]["parts"][0]["functionCall"]
        assert (call.name, dict(call.arguments)) == (raw["name"], raw["args"])

    def test_plain_stream_still_stops(self) -> None:
        recording = load("gemini/stream_text")
        response = assemble(recording.chunks())
        texts = [
            part["text"]
            for p in recording.payloads
            for part in p["candidates"][0]["content"]["parts"]
        ]
        assert response.content == "".join(texts)
        assert response.finish_reason == "stop"
        assert (
            response.usage.total_tokens
            == recording.payloads[-1]["usageMetadata"]["totalTokenCount"]
        )

    def test_unstreamed_tool_call(self) -> None:
        recording = load("gemini/tool_call")
        parts = recording.body["candidates"][0]["content"]["parts"]
        (call,) = recording.response().tool_calls
        raw = next(p["functionCall"] for p in parts if "functionCall" in p)
        assert (call.name, dict(call.arguments)) == (raw["name"], raw.get("args") or {})
        assert recording.response().finish_reason == "tool_calls"


class TestMidStreamErrors:
    """Every chunk before an error event reaches the caller, however the bytes are read."""

    @pytest.mark.parametrize("read_size", READ_SIZES)
    @pytest.mark.parametrize("name", ["groq/stream_error", "openrouter/stream_error"])
    def test_chunks_before_the_error(self, name: str, read_size: int | None) -> None:
        recording = load(name)
        events = recording.events
        failing = next(i for i, (_, payload) in enumerate(events) if payload.get("error"))
        before = Recording(
            name=name,
            provider=recording.provider,
            status=200,
            sse="".join(f"data: {json.dumps(payload)}\n\n" for _, payload in events[:failing]),
        )
        received: list[StreamChunk] = []
        with pytest.raises(ProviderError) as info:
            received.extend(recording.iter_chunks(read_size))
        assert [c.raw for c in received] == [c.raw for c in before.chunks()]
        assert assemble(received).reasoning == openai_deltas(before, "reasoning")
        assert info.value.provider == recording.provider
        assert events[failing][1]["error"]["message"] in str(info.value)


class TestErrorBodies:
    """Error answers read from real bodies: the class, status and message."""

    def test_rate_limit(self) -> None:
        recording = load("openrouter/error_429")
        error = error_of(recording)
        assert type(error) is RateLimitError
        assert error.status == 429

    @pytest.mark.parametrize("name", ["anthropic/error_400", "groq/error_400", "gemini/error_404"])
    def test_message_comes_from_the_body(self, name: str) -> None:
        recording = load(name)
        error = error_of(recording)
        assert type(error) is ProviderError
        assert error.status == recording.status
        assert recording.body["error"]["message"][:100] in str(error)
        assert not isinstance(error, AuthenticationError)


def _fields(response: Any) -> dict[str, Any]:
    return {
        "content": response.content,
        "reasoning": response.reasoning,
        "tool_calls": response.tool_calls,
        "usage": response.usage,
        "finish_reason": response.finish_reason,
        "native_finish_reason": response.metadata.get("native_finish_reason"),
    }


class TestAssembledStreamsRecorded:
    """For every recorded stream, the assembled answer says what the raw events say."""

    @pytest.mark.parametrize(
        "name",
        [
            "openai/stream_text",
            "openai/stream_tool_call",
            "anthropic/stream_thinking",
            "anthropic/stream_cache",
            "gemini/stream_text",
            "gemini/stream_tool_call",
            "groq/stream_thinking",
            "mistral/stream_thinking",
            "openrouter/stream_reasoning",
        ],
    )
    @pytest.mark.parametrize("read_size", READ_SIZES)
    def test_read_boundaries_change_nothing(self, name: str, read_size: int | None) -> None:
        recording = load(name)
        whole = assemble(recording.chunks())
        assert _fields(assemble(recording.chunks(read_size))) == _fields(whole)
        assert whole.provider == recording.provider
