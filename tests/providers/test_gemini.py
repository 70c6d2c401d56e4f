"""Tests of the Gemini generateContent adapter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from exllm_py.errors import ProviderError, RateLimitError
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.sse import ServerSentEvent, SSEDecoder
from exllm_py.request import ChatRequest
from exllm_py.types import StreamChunk, ToolCall, Usage
from tests.fakes import SSEEvent, gemini_error, gemini_response, gemini_stream_events

ADAPTER = GeminiAdapter()
BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
KEY = "AIzaSyTest-key-0123456789abcdefghijklm"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def config(api_key: str | None = KEY) -> ProviderConfig:
    return ProviderConfig(name="gemini", adapter=ADAPTER, base_url=BASE_URL, api_key=api_key)


def build(
    messages: list[dict[str, Any]] | None = None,
    *,
    model: str = "gemini-2.0-flash",
    stream: bool = False,
    provider: ProviderConfig | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    request = ChatRequest(
        provider="gemini",
        model=model,
        messages=messages or [{"role": "user", "content": "Hi"}],
        options=options,
        stream=stream,
    )
    http = ADAPTER.build_request(request, provider or config())
    return http, orjson.loads(http.content)


def chunks(events: list[SSEEvent]) -> list[StreamChunk]:
    decoded = SSEDecoder().feed(b"".join(e.encode() for e in events))
    reader = ADAPTER.stream_reader("gemini", "model")
    return [chunk for e in decoded if (chunk := reader.read(e)) is not None]


class TestBuildRequest:
    """A request is a JSON POST to {base_url}/models/{model}:generateContent, key in a header."""

    def test_url_and_headers(self) -> None:
        http, _ = build()
        assert http.method == "POST"
        assert str(http.url) == f"{BASE_URL}/models/gemini-2.0-flash:generateContent"
        assert http.headers["x-goog-api-key"] == KEY
        assert http.headers["content-type"] == "application/json"

    @pytest.mark.parametrize("stream", [False, True])
    def test_key_never_appears_in_the_url(self, stream: bool) -> None:
        http, _ = build(stream=stream)
        assert KEY not in str(http.url)
        assert "key" not in http.url.params

    def test_no_key_sends_no_key_header(self) -> None:
        http, _ = build(provider=config(api_key=None))
        assert "x-goog-api-key" not in http.headers

    def test_streaming_uses_stream_generate_content_with_sse(self) -> None:
        http, _ = build(stream=True)
        assert http.url.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
        assert dict(http.url.params) == {"alt": "sse"}
        assert http.headers["accept"] == "text/event-stream"

    def test_models_prefix_in_the_model_name_is_not_doubled(self) -> None:
        http, _ = build(model="models/gemini-1.5-pro")
        assert http.url.path == "/v1beta/models/gemini-1.5-pro:generateContent"

    def test_minimal_body(self) -> None:
        _, body = build()
        assert body == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}

    def test_roles_become_user_and_model_and_system_becomes_system_instruction(self) -> None:
        messages = [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Bye"},
        ]
        _, body = build(messages, system="Speak French.")
        assert body["systemInstruction"] == {"parts": [{"text": "Speak French.\n\nBe terse."}]}
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello."}]},
            {"role": "user", "parts": [{"text": "Bye"}]},
        ]

    def test_options_become_generation_config(self) -> None:
        _, body = build(
            temperature=0,
            max_tokens=128,
            top_p=0.5,
            stop="###",
            seed=42,
            n=2,
            frequency_penalty=0.1,
            presence_penalty=0.2,
        )
        assert body["generationConfig"] == {
            "temperature": 0,
            "maxOutputTokens": 128,
            "topP": 0.5,
            "stopSequences": ["###"],
            "seed": 42,
            "candidateCount": 2,
            "frequencyPenalty": 0.1,
            "presencePenalty": 0.2,
        }

    def test_json_object_response_format_sets_the_mime_type(self) -> None:
        _, body = build(response_format={"type": "json_object"})
        assert body["generationConfig"] == {"responseMimeType": "application/json"}

    def test_json_schema_response_format_sets_a_cleaned_schema(self) -> None:
        schema = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "additionalProperties": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        }
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
        _, body = build(response_format=response_format)
        assert body["generationConfig"] == {
            "responseMimeType": "application/json",
            "responseSchema": {
                "type": "object",
                "properties": {
                    "additionalProperties": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        }

    def test_tools_become_function_declarations(self) -> None:
        _, body = build(tools=[WEATHER_TOOL, {"googleSearch": {}}])
        assert body["tools"] == [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Current weather in a city",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    }
                ]
            },
            {"googleSearch": {}},
        ]

    @pytest.mark.parametrize(
        ("choice", "expected"),
        [
            ("auto", {"mode": "AUTO"}),
            ("required", {"mode": "ANY"}),
            ("none", {"mode": "NONE"}),
            (
                {"type": "function", "function": {"name": "get_weather"}},
                {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
            ),
        ],
    )
    def test_tool_choice_becomes_function_calling_config(
        self, choice: Any, expected: dict[str, Any]
    ) -> None:
        _, body = build(tools=[WEATHER_TOOL], tool_choice=choice)
        assert body["toolConfig"] == {"functionCallingConfig": expected}

    def test_tool_calls_and_results_become_function_parts(self) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_0",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_0", "content": '{"temp_c": 18}'},
            {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
        ]
        _, body = build(messages)
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
                    {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
                ],
            },
        ]

    def test_images_become_inline_data_and_file_data(self) -> None:
        content = [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}},
        ]
        _, body = build([{"role": "user", "content": content}])
        assert body["contents"][0]["parts"] == [
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
            {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/dog.png"}},
        ]


class TestParseResponse:
    """A GenerateContentResponse becomes an LLMResponse with numbered tool calls."""

    def test_text_answer(self) -> None:
        body = gemini_response("Hi there.", prompt_tokens=7, candidates_tokens=3)
        response = ADAPTER.parse_response(body, config())
        assert response.content == "Hi there."
        assert response.model == "gemini-2.0-flash"
        assert response.id == "resp-test123"
        assert response.provider == "gemini"
        assert response.finish_reason == "stop"
        assert response.usage == Usage(input_tokens=7, output_tokens=3, total_tokens=10)
        assert response.raw == body

    def test_function_calls_become_numbered_tool_calls(self) -> None:
        calls = [
            ToolCall(id="ignored", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="ignored", name="get_time", arguments={"zone": "CET"}),
        ]
        response = ADAPTER.parse_response(gemini_response(None, tool_calls=calls), config())
        assert response.content == ""
        assert response.tool_calls == (
            ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="call_1", name="get_time", arguments={"zone": "CET"}),
        )
        assert response.finish_reason == "tool_calls"

    def test_thought_parts_are_not_part_of_the_answer(self) -> None:
        body = gemini_response("42")
        body["candidates"][0]["content"]["parts"].insert(0, {"text": "Hmm...", "thought": True})
        body["usageMetadata"].update(candidatesTokenCount=1, thoughtsTokenCount=20)
        response = ADAPTER.parse_response(body, config())
        assert response.content == "42"
        assert response.usage.output_tokens == 21

    @pytest.mark.parametrize(
        ("reason", "finish_reason"),
        [
            ("STOP", "stop"),
            ("MAX_TOKENS", "length"),
            ("SAFETY", "content_filter"),
            ("RECITATION", "content_filter"),
            ("MALFORMED_FUNCTION_CALL", "MALFORMED_FUNCTION_CALL"),
        ],
    )
    def test_finish_reasons(self, reason: str, finish_reason: str) -> None:
        response = ADAPTER.parse_response(gemini_response(finish_reason=reason), config())
        assert response.finish_reason == finish_reason

    def test_blocked_prompt_has_no_candidates_and_a_content_filter_finish(self) -> None:
        body = {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
            "modelVersion": "gemini-2.0-flash",
        }
        response = ADAPTER.parse_response(body, config())
        assert response.content == ""
        assert response.finish_reason == "content_filter"
        assert response.usage == Usage(input_tokens=5, output_tokens=0, total_tokens=5)

    def test_body_that_is_not_an_object_is_a_provider_error(self) -> None:
        with pytest.raises(ProviderError, match="JSON object"):
            ADAPTER.parse_response([], config())


class TestParseEvent:
    """Each SSE event is a partial response: text deltas, then finish reason and usage."""

    def test_realistic_stream_yields_text_then_finish_reason(self) -> None:
        result = chunks(gemini_stream_events("The sky is blue.", candidates_tokens=4))
        assert "".join(c.content for c in result) == "The sky is blue."
        assert [c.finish_reason for c in result] == [None, None, None, "stop"]
        assert result[-1].raw["usageMetadata"]["candidatesTokenCount"] == 4

    def test_function_call_in_a_stream_finishes_with_tool_calls(self) -> None:
        call = ToolCall(id="x", name="get_weather", arguments={"city": "Oslo"})
        (chunk,) = chunks(gemini_stream_events(None, tool_calls=[call]))
        assert chunk.finish_reason == "tool_calls"
        assert chunk.raw["candidates"][0]["content"]["parts"] == [
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}
        ]

    def test_error_event_raises_with_the_error_code_as_status(self) -> None:
        data = orjson.dumps(gemini_error("Quota exceeded", code=429, status="RESOURCE_EXHAUSTED"))
        with pytest.raises(RateLimitError, match="Quota exceeded") as info:
            ADAPTER.stream_reader("gemini", "model").read(ServerSentEvent(data=data.decode()))
        assert info.value.status == 429
        assert info.value.provider == "gemini"


class TestErrorMessage:
    """The message is read from Google's error shape, also when wrapped in a list."""

    def test_error_body(self) -> None:
        body = gemini_error("API key not valid. Please pass a valid API key.")
        assert ADAPTER.error_message(body) == "API key not valid. Please pass a valid API key."

    def test_error_body_in_a_list(self) -> None:
        assert ADAPTER.error_message([gemini_error("Bad model")]) == "Bad model"
