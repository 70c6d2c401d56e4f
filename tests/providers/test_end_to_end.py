"""End to end: exllm_py's public functions against the loopback provider server, over real HTTP.

Every call passes ``cache=False`` so each one reaches the server, whatever
the default strategy and whichever port an earlier test's server held.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import pytest

import exllm_py
from exllm_py.client import default_client, reset_default_client
from exllm_py.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from exllm_py.types import ToolCall
from tests.fakes import (
    ProviderServer,
    SSEEvent,
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    disconnect_reply,
    gemini_error,
    gemini_response,
    gemini_stream_events,
    json_reply,
    openai_completion,
    openai_error,
    openai_stream_events,
    sse_reply,
)
from tests.fakes.held_reply import HeldReply

KEY = "test-key"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
ANSWER = "The capital of France is Paris."


@attrs.frozen
class Wire:
    """What one provider's traffic looks like, for the parametrized tests below."""

    provider: str
    model: str
    path: str
    stream_path: str
    auth_header: str
    auth_value: str
    completion: Callable[..., Any]
    stream_events: Callable[..., list[SSEEvent]]
    error: Callable[[str], Any]

    def url_path(self, stream: bool) -> str:
        return self.stream_path if stream else self.path


WIRES = [
    Wire(
        provider="openai",
        model="gpt-4o-mini",
        path="/chat/completions",
        stream_path="/chat/completions",
        auth_header="authorization",
        auth_value=f"Bearer {KEY}",
        completion=openai_completion,
        stream_events=openai_stream_events,
        error=openai_error,
    ),
    Wire(
        provider="anthropic",
        model="claude-3-5-haiku-20241022",
        path="/v1/messages",
        stream_path="/v1/messages",
        auth_header="x-api-key",
        auth_value=KEY,
        completion=anthropic_message,
        stream_events=anthropic_stream_events,
        error=anthropic_error,
    ),
    Wire(
        provider="gemini",
        model="gemini-2.0-flash",
        path="/models/gemini-2.0-flash:generateContent",
        stream_path="/models/gemini-2.0-flash:streamGenerateContent",
        auth_header="x-goog-api-key",
        auth_value=KEY,
        completion=gemini_response,
        stream_events=gemini_stream_events,
        error=gemini_error,
    ),
]


@pytest.fixture(params=WIRES, ids=[wire.provider for wire in WIRES])
def wire(request: pytest.FixtureRequest) -> Wire:
    result: Wire = request.param
    return result


@pytest.fixture(autouse=True, scope="module")
def fresh_default_client() -> Iterator[None]:
    """Start from a default client no other test module configured, and leave none behind."""
    reset_default_client()
    yield
    reset_default_client()


@pytest.fixture
async def close_async_client() -> AsyncIterator[None]:
    """Close the default client's async connections inside the test's own event loop."""
    yield
    await default_client().aclose()


def options(server: ProviderServer, wire: Wire, **extra: Any) -> dict[str, Any]:
    return {
        "model": wire.model,
        "base_url": server.url,
        "api_key": KEY,
        "cache": False,
        **extra,
    }


def assert_sent(server: ProviderServer, wire: Wire, *, stream: bool) -> dict[str, Any]:
    """Check the one request the server saw; return its JSON body."""
    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == wire.url_path(stream)
    assert request.headers[wire.auth_header] == wire.auth_value
    assert request.headers["content-type"] == "application/json"
    assert KEY not in request.target
    body: dict[str, Any] = request.body
    if wire.provider == "gemini":
        assert request.query == ({"alt": "sse"} if stream else {})
        assert body["contents"] == [{"role": "user", "parts": [{"text": MESSAGES[0]["content"]}]}]
        assert body["generationConfig"]["temperature"] == 0
    else:
        assert body["model"] == wire.model
        assert body["messages"][-1] == MESSAGES[0]
        assert body["temperature"] == 0
        assert body.get("stream", False) is stream
    if wire.provider == "anthropic":
        assert request.headers["anthropic-version"] == "2023-06-01"
    return body


class TestChat:
    """chat() and achat() send the provider's wire format and read its answer."""

    def test_chat(self, provider_server: ProviderServer, wire: Wire) -> None:
        provider_server.enqueue(json_reply(wire.completion(ANSWER)))
        response = exllm_py.chat(
            wire.provider, MESSAGES, **options(provider_server, wire, temperature=0)
        )
        assert response.content == ANSWER
        assert response.provider == wire.provider
        assert response.finish_reason == "stop"
        assert response.usage.input_tokens == 10
        assert response.usage.output_tokens == len(ANSWER.split())
        assert response.metadata["from_cache"] is False
        assert response.cost is not None
        assert response.cost > 0
        assert_sent(provider_server, wire, stream=False)

    @pytest.mark.usefixtures("close_async_client")
    async def test_achat(self, provider_server: ProviderServer, wire: Wire) -> None:
        provider_server.enqueue(json_reply(wire.completion(ANSWER)))
        response = await exllm_py.achat(
            wire.provider, MESSAGES, **options(provider_server, wire, temperature=0)
        )
        assert response.content == ANSWER
        assert response.usage.total_tokens == 10 + len(ANSWER.split())
        assert_sent(provider_server, wire, stream=False)

    def test_tool_call_answer(self, provider_server: ProviderServer, wire: Wire) -> None:
        call = ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"})
        provider_server.enqueue(json_reply(wire.completion(None, tool_calls=[call])))
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
        response = exllm_py.chat(
            wire.provider, MESSAGES, **options(provider_server, wire, tools=[tool])
        )
        assert response.tool_calls == (call,)
        assert response.finish_reason == "tool_calls"
        body = provider_server.last_request.body
        names = {
            "openai": lambda: body["tools"][0]["function"]["name"],
            "anthropic": lambda: body["tools"][0]["name"],
            "gemini": lambda: body["tools"][0]["functionDeclarations"][0]["name"],
        }
        assert names[wire.provider]() == "get_weather"

    def test_default_reply_needs_no_scripting(
        self, provider_server: ProviderServer, wire: Wire
    ) -> None:
        response = exllm_py.chat(wire.provider, MESSAGES, **options(provider_server, wire))
        assert response.content == provider_server.text


class TestStream:
    """stream() and astream() yield the text deltas of the provider's event stream."""

    def test_stream(self, provider_server: ProviderServer, wire: Wire) -> None:
        provider_server.enqueue(sse_reply(wire.stream_events(ANSWER)))
        chunks = list(
            exllm_py.stream(
                wire.provider, MESSAGES, **options(provider_server, wire, temperature=0)
            )
        )
        assert "".join(c.content for c in chunks) == ANSWER
        assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
        body = assert_sent(provider_server, wire, stream=True)
        if wire.provider == "openai":
            assert body["stream_options"] == {"include_usage": True}

    @pytest.mark.usefixtures("close_async_client")
    async def test_astream(self, provider_server: ProviderServer, wire: Wire) -> None:
        provider_server.enqueue(sse_reply(wire.stream_events(ANSWER), event_delay=0.01))
        chunks = [
            chunk
            async for chunk in exllm_py.astream(
                wire.provider, MESSAGES, **options(provider_server, wire, temperature=0)
            )
        ]
        assert "".join(c.content for c in chunks) == ANSWER
        assert all(c.raw is not None for c in chunks)
        assert_sent(provider_server, wire, stream=True)

    def test_error_event_in_the_middle_of_a_stream_raises(
        self, provider_server: ProviderServer
    ) -> None:
        overloaded = anthropic_error("Overloaded", type="overloaded_error")
        events = [*anthropic_stream_events(ANSWER)[:4], SSEEvent(overloaded, event="error")]
        provider_server.enqueue(sse_reply(events))
        chunks = exllm_py.stream("anthropic", MESSAGES, **options(provider_server, WIRES[1]))
        assert next(chunks).content == ANSWER.split()[0]
        with pytest.raises(ServerError, match="Overloaded"):
            next(chunks)


class TestErrors:
    """Error statuses raise the matching exception through chat(), never showing the key."""

    @pytest.mark.parametrize(
        ("status", "error_class"),
        [
            (400, ProviderError),
            (401, AuthenticationError),
            (403, AuthenticationError),
            (429, RateLimitError),
            (500, ServerError),
            (503, ServerError),
        ],
    )
    def test_status(
        self,
        provider_server: ProviderServer,
        wire: Wire,
        status: int,
        error_class: type[ProviderError],
    ) -> None:
        provider_server.enqueue(json_reply(wire.error("Something went wrong"), status=status))
        with pytest.raises(error_class) as info:
            exllm_py.chat(wire.provider, MESSAGES, **options(provider_server, wire, max_retries=0))
        error = info.value
        assert type(error) is error_class
        assert error.status == status
        assert error.provider == wire.provider
        assert error.body == wire.error("Something went wrong")
        assert str(error).startswith(f"{wire.provider} answered {status}")
        assert str(error).endswith(": Something went wrong")
        assert KEY not in str(error)

    def test_rate_limit_carries_retry_after(
        self, provider_server: ProviderServer, wire: Wire
    ) -> None:
        provider_server.enqueue(
            json_reply(wire.error("Slow down"), status=429, headers={"retry-after": "7"})
        )
        with pytest.raises(RateLimitError) as info:
            exllm_py.chat(wire.provider, MESSAGES, **options(provider_server, wire, max_retries=0))
        assert info.value.retry_after == 7.0

    @pytest.mark.usefixtures("close_async_client")
    async def test_async_errors_match_sync_ones(
        self, provider_server: ProviderServer, wire: Wire
    ) -> None:
        provider_server.enqueue(json_reply(wire.error("bad key"), status=401))
        with pytest.raises(AuthenticationError, match="bad key"):
            await exllm_py.achat(wire.provider, MESSAGES, **options(provider_server, wire))

    def test_slow_server_is_a_timeout(self, provider_server: ProviderServer) -> None:
        held = HeldReply(json_reply(openai_completion()))  # it answers once the call gave up
        provider_server.enqueue(held)
        try:
            with pytest.raises(TimeoutError):
                exllm_py.chat(
                    "openai",
                    MESSAGES,
                    **options(provider_server, WIRES[0], timeout=0.1, max_retries=0),
                )
        finally:
            held.release.set()

    def test_dropped_connection_is_a_provider_error(self, provider_server: ProviderServer) -> None:
        provider_server.enqueue(disconnect_reply())
        with pytest.raises(ProviderError, match="could not reach openai"):
            exllm_py.chat("openai", MESSAGES, **options(provider_server, WIRES[0], max_retries=0))
