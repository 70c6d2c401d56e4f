"""Calls through the official ``anthropic`` SDK: chat, stream, async, a tool call, a retried 500."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import anthropic
import pytest

from exllm_py.testing import async_http_client, http_client

BASE_URL = os.environ["LOOPBACK_URL"]
# The SDK refuses to start without some key. Replays send none anywhere, so
# any string does when ANTHROPIC_API_KEY is unset (CI, a fresh clone).
API_KEY = os.environ.get("ANTHROPIC_API_KEY", "unused-on-replay")
MODEL = "claude-3-5-haiku-20241022"
ANSWER = "Hello from the provider server!"
MESSAGES: Any = [{"role": "user", "content": "What is the capital of France?"}]
TOOLS: Any = [
    {
        "name": "get_weather",
        "description": "The weather in a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
# anthropic 0.x is built on httpx, 2.x on httpx2 (and refuses an httpx client).
FLAVOR = "httpx2" if hasattr(anthropic._base_client, "httpx2") else "httpx"

pytestmark = pytest.mark.live_api


@pytest.fixture(params=["intercepted", "injected"])
def client_style(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def sync_client(style: str) -> anthropic.Anthropic:
    injected = {"http_client": http_client(flavor=FLAVOR)} if style == "injected" else {}
    return anthropic.Anthropic(api_key=API_KEY, base_url=BASE_URL, max_retries=1, **injected)


def async_client(style: str) -> anthropic.AsyncAnthropic:
    injected = {"http_client": async_http_client(flavor=FLAVOR)} if style == "injected" else {}
    return anthropic.AsyncAnthropic(api_key=API_KEY, base_url=BASE_URL, max_retries=1, **injected)


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def test_chat(client_style: str) -> None:
    with sync_client(client_style) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert text_of(message) == ANSWER


def test_stream(client_style: str) -> None:
    with (
        sync_client(client_style) as client,
        client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream,
    ):
        text = "".join(stream.text_stream)
    assert text == ANSWER


def test_async_chat_and_stream(client_style: str) -> None:
    async def ask() -> tuple[str, str]:
        async with async_client(client_style) as client:
            message = await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
            async with client.messages.stream(
                model=MODEL, max_tokens=64, messages=MESSAGES
            ) as stream:
                pieces = [text async for text in stream.text_stream]
        return text_of(message), "".join(pieces)

    assert asyncio.run(ask()) == (ANSWER, ANSWER)


def test_tool_call(client_style: str) -> None:
    with sync_client(client_style) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, tools=TOOLS)
    [call] = [block for block in message.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", {"city": "Paris"})


def test_retried_server_error(client_style: str, exllm_cassette: Any) -> None:
    ask = [{"role": "user", "content": f"flaky {client_style}"}]
    with sync_client(client_style) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=ask)
    assert text_of(message) == ANSWER
    exchanged = exllm_cassette.played if exllm_cassette.replays else exllm_cassette.recorded
    assert [item.response.status for item in exchanged] == [500, 200]
