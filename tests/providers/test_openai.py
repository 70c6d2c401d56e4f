"""Tests of the OpenAI chat-completions adapter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from exllm_py.errors import ProviderError
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.openai import OpenAIAdapter
from exllm_py.providers.sse import ServerSentEvent, SSEDecoder
from exllm_py.request import ChatRequest
from exllm_py.types import StreamChunk, ToolCall, Usage
from tests.fakes import SSEEvent, openai_completion, openai_error, openai_stream_events

ADAPTER = OpenAIAdapter()
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def config(name: str = "openai", api_key: str | None = "sk-test") -> ProviderConfig:
    return ProviderConfig(
        name=name, adapter=ADAPTER, base_url="https://api.openai.com/v1", api_key=api_key
    )


def build(
    messages: list[dict[str, Any]] | None = None,
    *,
    model: str = "gpt-4o-mini",
    stream: bool = False,
    provider: ProviderConfig | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    request = ChatRequest(
        provider="openai",
        model=model,
        messages=messages or [{"role": "user", "content": "Hi"}],
        options=options,
        stream=stream,
    )
    http = ADAPTER.build_request(request, provider or config())
    return http, orjson.loads(http.content)


def chunks(events: list[SSEEvent]) -> list[StreamChunk]:
    decoded: list[ServerSentEvent] = SSEDecoder().feed(b"".join(e.encode() for e in events))
    reader = ADAPTER.stream_reader("openai", "model")
    return [chunk for e in decoded if (chunk := reader.read(e)) is not None]


class TestBuildRequest:
    """A request is a JSON POST to {base_url}/chat/completions with bearer auth."""

    def test_url_method_and_headers(self) -> None:
        http, _ = build()
        assert http.method == "POST"
        assert str(http.url) == "https://api.openai.com/v1/chat/completions"
        assert http.headers["authorization"] == "Bearer sk-test"
        assert http.headers["content-type"] == "application/json"
        assert http.headers["accept"] == "application/json"

    def test_trailing_slash_in_base_url_is_not_doubled(self) -> None:
        provider = ProviderConfig(
            name="groq", adapter=ADAPTER, base_url="https://api.groq.com/openai/v1/", api_key="k"
        )
        http, _ = build(provider=provider)
        assert str(http.url) == "https://api.groq.com/openai/v1/chat/completions"

    def test_no_key_sends_no_authorization_header(self) -> None:
        http, _ = build(provider=config(api_key=None))
        assert "authorization" not in http.headers

    def test_body_carries_model_messages_and_options_unchanged(self) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "text", "text": "What is this?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
        _, body = build(
            messages,
            temperature=0,
            max_tokens=50,
            top_p=0.9,
            stop=["END"],
            seed=7,
            tools=[WEATHER_TOOL],
            tool_choice="auto",
            response_format={"type": "json_object"},
            n=2,
            frequency_penalty=0.5,
            presence_penalty=0.1,
        )
        assert body == {
            "model": "gpt-4o-mini",
            "messages": messages,
            "temperature": 0,
            "max_tokens": 50,
            "top_p": 0.9,
            "stop": ["END"],
            "seed": 7,
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "response_format": {"type": "json_object"},
            "n": 2,
            "frequency_penalty": 0.5,
            "presence_penalty": 0.1,
        }

    def test_system_option_becomes_a_leading_system_message(self) -> None:
        _, body = build([{"role": "user", "content": "Hi"}], system="Be brief.")
        assert body["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ]
        assert "system" not in body

    def test_streaming_asks_for_usage_and_event_stream(self) -> None:
        http, body = build(stream=True)
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
        assert http.headers["accept"] == "text/event-stream"

    @pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini-2025-04-16", "gpt-5-mini"])
    def test_reasoning_models_get_max_completion_tokens(self, model: str) -> None:
        _, body = build(model=model, max_tokens=100)
        assert body["max_completion_tokens"] == 100
        assert "max_tokens" not in body

    def test_compatible_servers_keep_max_tokens_for_any_model_name(self) -> None:
        _, body = build(model="o3-mini", max_tokens=100, provider=config(name="openrouter"))
        assert body["max_tokens"] == 100


class TestParseResponse:
    """A chat.completion body becomes an LLMResponse with content, tool calls and usage."""

    def test_text_answer(self) -> None:
        body = openai_completion(
            "Hello there!", id="chatcmpl-1", prompt_tokens=12, completion_tokens=3
        )
        response = ADAPTER.parse_response(body, config())
        assert response.content == "Hello there!"
        assert response.id == "chatcmpl-1"
        assert response.model == "gpt-4o-mini-2024-07-18"
        assert response.provider == "openai"
        assert response.finish_reason == "stop"
        assert response.usage == Usage(input_tokens=12, output_tokens=3, total_tokens=15)
        assert response.tool_calls == ()
        assert response.cost is None
        assert response.metadata == {"from_cache": False, "native_finish_reason": "stop"}
        assert response.raw == body

    def test_provider_name_comes_from_the_config(self) -> None:
        response = ADAPTER.parse_response(openai_completion(), config(name="groq"))
        assert response.provider == "groq"

    def test_tool_calls_have_decoded_arguments(self) -> None:
        calls = [
            ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="call_b", name="get_time", arguments={}),
        ]
        response = ADAPTER.parse_response(openai_completion(None, tool_calls=calls), config())
        assert response.content == ""
        assert response.tool_calls == tuple(calls)
        assert response.finish_reason == "tool_calls"

    def test_malformed_tool_arguments_are_kept_as_raw_text(self) -> None:
        body = openai_completion(None)
        body["choices"][0]["message"]["tool_calls"] = [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
        ]
        response = ADAPTER.parse_response(body, config())
        assert response.tool_calls[0].arguments == {"_raw": "{oops"}

    def test_missing_usage_is_zero(self) -> None:
        body = openai_completion()
        del body["usage"]
        assert ADAPTER.parse_response(body, config()).usage == Usage()

    @pytest.mark.parametrize("body", [{}, {"choices": []}, [], {"choices": "x"}])
    def test_body_without_choices_is_a_provider_error(self, body: Any) -> None:
        with pytest.raises(ProviderError, match="'choices'") as info:
            ADAPTER.parse_response(body, config())
        assert info.value.provider == "openai"
        assert info.value.body == body


class TestParseEvent:
    """Stream chunks carry text deltas; [DONE] carries nothing; error events raise."""

    def test_realistic_stream_yields_the_text_and_finish_reason(self) -> None:
        result = chunks(openai_stream_events("Hello there, friend!"))
        assert "".join(c.content for c in result) == "Hello there, friend!"
        assert [c.finish_reason for c in result if c.finish_reason] == ["stop"]
        assert result[-1].raw["usage"] == {
            "prompt_tokens": 10,
            "completion_tokens": 3,
            "total_tokens": 13,
        }

    def test_done_sentinel_is_none(self) -> None:
        assert ADAPTER.stream_reader("openai", "model").read(ServerSentEvent(data="[DONE]")) is None

    def test_chunk_raw_is_the_decoded_event(self) -> None:
        event = openai_stream_events("Hi")[1]
        (chunk,) = chunks([event])
        assert chunk.raw == event.data
        assert chunk.content == "Hi"

    def test_tool_call_deltas_are_chunks_without_text(self) -> None:
        call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"})
        result = chunks(openai_stream_events(None, tool_calls=[call]))
        arguments = "".join(
            delta["function"].get("arguments", "")
            for c in result
            for delta in (c.raw["choices"] or [{}])[0].get("delta", {}).get("tool_calls", [])
        )
        assert orjson.loads(arguments) == {"city": "Oslo"}
        assert all(c.content == "" for c in result)
        assert [c.finish_reason for c in result if c.finish_reason] == ["tool_calls"]

    def test_error_event_raises_provider_error(self) -> None:
        event = ServerSentEvent(
            data=orjson.dumps(openai_error("boom", type="server_error")).decode()
        )
        with pytest.raises(ProviderError, match="boom") as info:
            ADAPTER.stream_reader("openai", "model").read(event)
        assert info.value.provider == "openai"

    def test_event_that_is_not_json_is_a_provider_error(self) -> None:
        with pytest.raises(ProviderError, match="not JSON"):
            ADAPTER.stream_reader("openai", "model").read(ServerSentEvent(data="{half"))


class TestErrorMessage:
    """The message is read from OpenAI's error shape and from compatible servers' shapes."""

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (openai_error("Incorrect API key provided"), "Incorrect API key provided"),
            ({"error": "model 'llama9' not found"}, "model 'llama9' not found"),
            ({"detail": "Not Found"}, "Not Found"),
            ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
            ("", "the response body was empty"),
        ],
    )
    def test_message_shapes(self, body: Any, message: str) -> None:
        assert ADAPTER.error_message(body) == message
