"""Tests of the Anthropic Messages API adapter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from exllm_py.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from exllm_py.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicAdapter
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.sse import ServerSentEvent, SSEDecoder
from exllm_py.request import ChatRequest
from exllm_py.types import StreamChunk, ToolCall, Usage
from tests.fakes import SSEEvent, anthropic_error, anthropic_message, anthropic_stream_events

ADAPTER = AnthropicAdapter()
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TOOL_CALL_TURN = {
    "role": "assistant",
    "content": "Let me check.",
    "tool_calls": [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "id": "toolu_2",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
        },
    ],
}


def config(
    base_url: str = "https://api.anthropic.com", api_key: str | None = "sk-ant-test"
) -> ProviderConfig:
    return ProviderConfig(name="anthropic", adapter=ADAPTER, base_url=base_url, api_key=api_key)


def build(
    messages: list[dict[str, Any]] | None = None,
    *,
    stream: bool = False,
    provider: ProviderConfig | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    request = ChatRequest(
        provider="anthropic",
        model="claude-3-5-haiku-latest",
        messages=messages or [{"role": "user", "content": "Hi"}],
        options=options,
        stream=stream,
    )
    http = ADAPTER.build_request(request, provider or config())
    return http, orjson.loads(http.content)


def chunks(events: list[SSEEvent]) -> list[StreamChunk]:
    decoded = SSEDecoder().feed(b"".join(e.encode() for e in events))
    reader = ADAPTER.stream_reader("anthropic", "model")
    return [chunk for e in decoded if (chunk := reader.read(e)) is not None]


def error_event(error_type: str, message: str) -> ServerSentEvent:
    data = orjson.dumps(anthropic_error(message, type=error_type)).decode()
    return ServerSentEvent(event="error", data=data)


class TestBuildRequest:
    """A request is a JSON POST to {base_url}/v1/messages with x-api-key and the API version."""

    def test_url_and_headers(self) -> None:
        http, _ = build()
        assert http.method == "POST"
        assert str(http.url) == "https://api.anthropic.com/v1/messages"
        assert http.headers["x-api-key"] == "sk-ant-test"
        assert http.headers["anthropic-version"] == "2023-06-01"
        assert http.headers["content-type"] == "application/json"
        assert "authorization" not in http.headers

    def test_base_url_that_already_ends_in_v1_is_not_doubled(self) -> None:
        http, _ = build(provider=config(base_url="https://proxy.example/anthropic/v1/"))
        assert str(http.url) == "https://proxy.example/anthropic/v1/messages"

    def test_no_key_sends_no_key_header(self) -> None:
        http, _ = build(provider=config(api_key=None))
        assert "x-api-key" not in http.headers

    def test_minimal_body_defaults_max_tokens(self) -> None:
        _, body = build()
        assert body == {
            "model": "claude-3-5-haiku-latest",
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        assert DEFAULT_MAX_TOKENS == 1024

    def test_system_messages_and_option_become_the_system_field(self) -> None:
        messages = [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
        ]
        _, body = build(messages, system="Answer in French.")
        assert body["system"] == "Answer in French.\n\nYou are terse."
        assert body["messages"] == [{"role": "user", "content": "Hi"}]

    def test_options_are_mapped_to_anthropic_names(self) -> None:
        _, body = build(temperature=0.2, max_tokens=64, top_p=0.8, stop="END")
        assert body["temperature"] == 0.2
        assert body["max_tokens"] == 64
        assert body["top_p"] == 0.8
        assert body["stop_sequences"] == ["END"]
        assert "stop" not in body

    def test_sampling_only_options_without_an_equivalent_are_left_out(self) -> None:
        _, body = build(seed=1, frequency_penalty=0.5, presence_penalty=0.5, n=1)
        assert body.keys() == {"model", "max_tokens", "messages"}

    def test_more_than_one_answer_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="n=2"):
            build(n=2)

    def test_json_response_format_is_refused_with_advice(self) -> None:
        with pytest.raises(ValidationError, match="tool_choice"):
            build(response_format={"type": "json_object"})

    def test_text_response_format_is_accepted(self) -> None:
        _, body = build(response_format={"type": "text"})
        assert "response_format" not in body

    def test_tools_become_input_schemas(self) -> None:
        _, body = build(tools=[WEATHER_TOOL])
        assert body["tools"] == [
            {
                "name": "get_weather",
                "description": "Current weather in a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ]

    def test_native_anthropic_tools_pass_through(self) -> None:
        native = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
        _, body = build(tools=[native])
        assert body["tools"] == [native]

    @pytest.mark.parametrize(
        ("choice", "expected"),
        [
            ("auto", {"type": "auto"}),
            ("required", {"type": "any"}),
            ("none", {"type": "none"}),
            (
                {"type": "function", "function": {"name": "get_weather"}},
                {"type": "tool", "name": "get_weather"},
            ),
        ],
    )
    def test_tool_choice(self, choice: Any, expected: dict[str, Any]) -> None:
        _, body = build(tools=[WEATHER_TOOL], tool_choice=choice)
        assert body["tool_choice"] == expected

    def test_tool_calls_and_results_become_blocks_in_alternating_turns(self) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            TOOL_CALL_TURN,
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C, sunny"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "24C, clear"},
        ]
        _, body = build(messages)
        assert body["messages"] == [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me check."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, sunny"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "24C, clear"},
                ],
            },
        ]

    def test_assistant_turn_with_only_tool_calls_has_no_empty_text_block(self) -> None:
        turn = {**TOOL_CALL_TURN, "content": None}
        _, body = build([{"role": "user", "content": "Go"}, turn])
        assert [block["type"] for block in body["messages"][1]["content"]] == [
            "tool_use",
            "tool_use",
        ]

    def test_images_become_image_blocks(self) -> None:
        content = [
            {"type": "text", "text": "Compare these."},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        ]
        _, body = build([{"role": "user", "content": content}])
        assert body["messages"][0]["content"] == [
            {"type": "text", "text": "Compare these."},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
            },
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        ]

    def test_image_url_that_is_not_base64_data_is_refused(self) -> None:
        content = [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]
        with pytest.raises(ValidationError, match="base64"):
            build([{"role": "user", "content": content}])

    def test_streaming_sets_stream(self) -> None:
        http, body = build(stream=True)
        assert body["stream"] is True
        assert http.headers["accept"] == "text/event-stream"


class TestParseResponse:
    """A message body becomes an LLMResponse; stop reasons use the OpenAI vocabulary."""

    def test_text_answer(self) -> None:
        body = anthropic_message("Bonjour !", id="msg_1", input_tokens=9, output_tokens=4)
        response = ADAPTER.parse_response(body, config())
        assert response.content == "Bonjour !"
        assert response.id == "msg_1"
        assert response.model == "claude-3-5-haiku-20241022"
        assert response.provider == "anthropic"
        assert response.finish_reason == "stop"
        assert response.usage == Usage(input_tokens=9, output_tokens=4, total_tokens=13)
        assert response.raw == body

    def test_text_blocks_are_joined_and_tool_uses_become_tool_calls(self) -> None:
        call = ToolCall(id="toolu_9", name="get_weather", arguments={"city": "Oslo"})
        body = anthropic_message("Checking.", tool_calls=[call])
        response = ADAPTER.parse_response(body, config())
        assert response.content == "Checking."
        assert response.tool_calls == (call,)
        assert response.finish_reason == "tool_calls"

    @pytest.mark.parametrize(
        ("stop_reason", "finish_reason"),
        [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
            ("pause_turn", "pause_turn"),
        ],
    )
    def test_stop_reasons(self, stop_reason: str, finish_reason: str) -> None:
        response = ADAPTER.parse_response(anthropic_message(stop_reason=stop_reason), config())
        assert response.finish_reason == finish_reason

    def test_prompt_cache_tokens_count_as_input(self) -> None:
        body = anthropic_message(output_tokens=5)
        body["usage"].update(
            input_tokens=3, cache_creation_input_tokens=100, cache_read_input_tokens=20
        )
        usage = ADAPTER.parse_response(body, config()).usage
        assert usage == Usage(
            input_tokens=123,
            output_tokens=5,
            total_tokens=128,
            cache_read_tokens=20,
            cache_write_tokens=100,
        )

    def test_body_without_content_blocks_is_a_provider_error(self) -> None:
        with pytest.raises(ProviderError, match="'content'"):
            ADAPTER.parse_response({"type": "message"}, config())


class TestParseEvent:
    """Named SSE events: text and tool-input deltas are chunks, bookkeeping events are None."""

    def test_realistic_stream_yields_text_then_finish_reason(self) -> None:
        result = chunks(anthropic_stream_events("Hello, how are you?", output_tokens=6))
        assert "".join(c.content for c in result) == "Hello, how are you?"
        assert result[-1].finish_reason == "stop"
        assert result[-1].raw["usage"] == {"output_tokens": 6}

    @pytest.mark.parametrize(
        "name", ["ping", "message_start", "content_block_stop", "message_stop"]
    )
    def test_bookkeeping_events_carry_nothing(self, name: str) -> None:
        data = orjson.dumps({"type": name}).decode()
        assert (
            ADAPTER.stream_reader("anthropic", "model").read(ServerSentEvent(event=name, data=data))
            is None
        )

    def test_unknown_event_types_are_ignored(self) -> None:
        event = ServerSentEvent(event="future_event", data='{"type": "future_event"}')
        assert ADAPTER.stream_reader("anthropic", "model").read(event) is None

    def test_tool_use_stream_exposes_the_call_in_raw(self) -> None:
        call = ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Lima"})
        result = chunks(anthropic_stream_events(None, tool_calls=[call]))
        start = next(c for c in result if c.raw["type"] == "content_block_start")
        assert start.raw["content_block"]["name"] == "get_weather"
        partial = "".join(
            c.raw["delta"]["partial_json"] for c in result if c.raw["type"] == "content_block_delta"
        )
        assert orjson.loads(partial) == {"city": "Lima"}
        assert all(c.content == "" for c in result)
        assert result[-1].finish_reason == "tool_calls"

    @pytest.mark.parametrize(
        ("error_type", "error_class", "status"),
        [
            ("overloaded_error", ServerError, 529),
            ("api_error", ServerError, 500),
            ("rate_limit_error", RateLimitError, 429),
            ("authentication_error", AuthenticationError, 401),
            ("invalid_request_error", ProviderError, 400),
        ],
    )
    def test_error_event_raises_the_matching_error(
        self, error_type: str, error_class: type[ProviderError], status: int
    ) -> None:
        with pytest.raises(error_class, match="Overloaded") as info:
            ADAPTER.stream_reader("anthropic", "model").read(error_event(error_type, "Overloaded"))
        assert type(info.value) is error_class
        assert info.value.status == status
        assert info.value.provider == "anthropic"


class TestErrorMessage:
    """The message is read from Anthropic's error shape."""

    def test_error_body(self) -> None:
        body = anthropic_error("invalid x-api-key", type="authentication_error")
        assert ADAPTER.error_message(body) == "invalid x-api-key"
