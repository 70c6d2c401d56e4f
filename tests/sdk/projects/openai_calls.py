"""Calls through the official ``openai`` SDK: chat, stream, async, a tool call, a retried 500."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import openai
import pytest

from exllm_py.testing import async_http_client, http_client

BASE_URL = os.environ["LOOPBACK_URL"] + "/v1"
# The SDK refuses to start without some key. Replays send none anywhere, so
# any string does when OPENAI_API_KEY is unset (CI, a fresh clone).
API_KEY = os.environ.get("OPENAI_API_KEY", "unused-on-replay")
MODEL = "gpt-4o-mini"
ANSWER = "Hello from the provider server!"
MESSAGES: Any = [{"role": "user", "content": "What is the capital of France?"}]
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
# openai 1.x is built on httpx, 3.x on httpx2: the injected client must match.
FLAVOR = "httpx2" if hasattr(openai._base_client, "httpx2") else "httpx"

pytestmark = pytest.mark.live_api


@pytest.fixture(params=["intercepted", "injected"])
def client_style(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def sync_client(style: str) -> openai.OpenAI:
    injected = {"http_client": http_client(flavor=FLAVOR)} if style == "injected" else {}
    return openai.OpenAI(api_key=API_KEY, base_url=BASE_URL, max_retries=1, **injected)


def async_client(style: str) -> openai.AsyncOpenAI:
    injected = {"http_client": async_http_client(flavor=FLAVOR)} if style == "injected" else {}
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=BASE_URL, max_retries=1, **injected)


def test_chat(client_style: str) -> None:
    with sync_client(client_style) as client:
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == ANSWER


def test_stream(client_style: str) -> None:
    with sync_client(client_style) as client:
        chunks = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == ANSWER


def test_async_chat_and_stream(client_style: str) -> None:
    async def ask() -> tuple[str | None, str]:
        async with async_client(client_style) as client:
            completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            chunks = await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True
            )
            pieces = [chunk.choices[0].delta.content or "" async for chunk in chunks]
        return completion.choices[0].message.content, "".join(pieces)

    assert asyncio.run(ask()) == (ANSWER, ANSWER)


def test_tool_call(client_style: str) -> None:
    with sync_client(client_style) as client:
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    [call] = completion.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_retried_server_error(client_style: str, exllm_cassette: Any) -> None:
    ask = [{"role": "user", "content": f"flaky {client_style}"}]
    with sync_client(client_style) as client:
        completion = client.chat.completions.create(model=MODEL, messages=ask)
    assert completion.choices[0].message.content == ANSWER
    exchanged = exllm_cassette.played if exllm_cassette.replays else exllm_cassette.recorded
    assert [item.response.status for item in exchanged] == [500, 200]
