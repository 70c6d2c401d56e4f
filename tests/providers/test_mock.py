"""Tests of the offline mock provider transport."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.mock import MOCK_BASE_URL, MockProvider
from exllm_py.providers.openai import OpenAIAdapter
from exllm_py.providers.sse import SSEDecoder
from exllm_py.request import ChatRequest

ADAPTER = OpenAIAdapter()
CONFIG = ProviderConfig(name="mock", adapter=ADAPTER, base_url=MOCK_BASE_URL, api_key=None)
MESSAGES = [
    {"role": "system", "content": "Be kind."},
    {"role": "user", "content": "Hello there"},
]


def chat_request(
    messages: list[dict[str, Any]] = MESSAGES, *, stream: bool = False, **options: Any
) -> httpx.Request:
    request = ChatRequest(
        provider="mock", model="mock-1", messages=messages, options=options, stream=stream
    )
    return ADAPTER.build_request(request, CONFIG)


def send(transport: MockProvider, request: httpx.Request) -> httpx.Response:
    with httpx.Client(transport=transport) as client:
        return client.send(request)


class TestAnswers:
    """Non-streamed requests get a chat.completion body the OpenAI adapter can read."""

    def test_default_answer_echoes_the_last_user_message(self) -> None:
        response = send(MockProvider(), chat_request())
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        parsed = ADAPTER.parse_response(response.json(), CONFIG)
        assert parsed.content == "mock response to: Hello there"
        assert parsed.model == "mock-1"
        assert parsed.finish_reason == "stop"

    def test_parts_of_the_last_user_message_are_echoed_as_text(self) -> None:
        messages = [{"role": "user", "content": [{"type": "text", "text": "Look"}]}]
        body = send(MockProvider(), chat_request(messages)).json()
        assert body["choices"][0]["message"]["content"] == "mock response to: Look"

    def test_fixed_content(self) -> None:
        body = send(MockProvider("Always this."), chat_request()).json()
        assert body["choices"][0]["message"]["content"] == "Always this."

    def test_content_function_receives_the_wire_messages(self) -> None:
        seen: list[list[dict[str, Any]]] = []

        def answer(messages: list[dict[str, Any]]) -> str:
            seen.append(messages)
            return f"{len(messages)} messages"

        body = send(MockProvider(answer), chat_request(system="Top.")).json()
        assert body["choices"][0]["message"]["content"] == "3 messages"
        assert seen[0][0] == {"role": "system", "content": "Top."}

    def test_usage_counts_words(self) -> None:
        usage = send(MockProvider(), chat_request()).json()["usage"]
        assert usage == {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}

    def test_same_request_same_body_and_id(self) -> None:
        first = send(MockProvider(), chat_request()).content
        second = send(MockProvider(), chat_request()).content
        assert first == second
        assert orjson.loads(first)["id"].startswith("chatcmpl-mock-")

    def test_different_requests_get_different_ids(self) -> None:
        first = send(MockProvider(), chat_request(temperature=0)).json()["id"]
        second = send(MockProvider(), chat_request(temperature=1)).json()["id"]
        assert first != second


class TestStreaming:
    """stream=true gets OpenAI-style chunks ending with usage and data: [DONE]."""

    def test_stream_reassembles_the_answer(self) -> None:
        response = send(MockProvider(), chat_request(stream=True))
        assert response.headers["content-type"] == "text/event-stream"
        events = SSEDecoder().feed(response.content)
        assert events[-1].data == "[DONE]"
        reader = ADAPTER.stream_reader("mock", "mock-1")
        chunks = [c for e in events if (c := reader.read(e)) is not None]
        assert "".join(c.content for c in chunks) == "mock response to: Hello there"
        assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
        assert chunks[-1].raw["usage"]["total_tokens"] == 9

    def test_no_usage_chunk_unless_asked(self) -> None:
        request = httpx.Request(
            "POST",
            f"{MOCK_BASE_URL}/chat/completions",
            json={"model": "m", "messages": MESSAGES, "stream": True},
        )
        events = SSEDecoder().feed(send(MockProvider(), request).content)
        assert all("usage" not in e.data for e in events)


class TestCountingAndLatency:
    """calls counts every request served; latency sleeps before answering, sync and async."""

    def test_calls_counts_sync_and_async_requests(self) -> None:
        transport = MockProvider()
        send(transport, chat_request())
        send(transport, chat_request())

        async def one_async() -> None:
            async with httpx.AsyncClient(transport=transport) as client:
                await client.send(chat_request())

        asyncio.run(one_async())
        assert transport.calls == 3

    def test_sync_latency_uses_time_sleep(self, monkeypatch: pytest.MonkeyPatch) -> None:
        slept: list[float] = []
        monkeypatch.setattr(time, "sleep", slept.append)
        send(MockProvider(latency=0.25), chat_request())
        assert slept == [0.25]

    def test_async_latency_uses_asyncio_sleep(self, monkeypatch: pytest.MonkeyPatch) -> None:
        slept: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            slept.append(seconds)

        monkeypatch.setattr(asyncio, "sleep", fake_sleep)

        async def one_async() -> int:
            async with httpx.AsyncClient(transport=MockProvider(latency=0.5)) as client:
                return (await client.send(chat_request())).status_code

        assert asyncio.run(one_async()) == 200
        assert slept == [0.5]

    def test_negative_latency_is_refused(self) -> None:
        with pytest.raises(ValueError, match="latency"):
            MockProvider(latency=-1)


class TestBadRequests:
    """Requests the mock cannot answer get OpenAI-shaped 4xx errors, never an exception."""

    def test_other_paths_are_404(self) -> None:
        response = send(MockProvider(), httpx.Request("GET", f"{MOCK_BASE_URL}/models"))
        assert response.status_code == 404
        assert "chat/completions" in ADAPTER.error_message(response.json())

    def test_body_that_is_not_json_is_400(self) -> None:
        request = httpx.Request("POST", f"{MOCK_BASE_URL}/chat/completions", content=b"{x")
        response = send(MockProvider(), request)
        assert response.status_code == 400

    def test_missing_messages_is_400(self) -> None:
        request = httpx.Request("POST", f"{MOCK_BASE_URL}/chat/completions", json={"model": "m"})
        response = send(MockProvider(), request)
        assert response.status_code == 400
        assert "messages" in ADAPTER.error_message(response.json())
