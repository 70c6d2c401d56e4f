"""Anthropic's Messages API, live: chat, stream, tool call and an error.

Replayed from ``cassettes/tests.live.test_anthropic_live/``, which were
recorded against the loopback server speaking Anthropic's wire format (no
keys, no internet where they were made). Re-record them against the real
API with::

    ANTHROPIC_API_KEY=sk-ant-... pytest tests/live/test_anthropic_live.py \\
        --exllm-record-mode=rewrite

The ``script`` calls only shape the loopback server's answers; the real API
answers these prompts the same way, so the assertions hold for both.
"""

from __future__ import annotations

import pytest

from exllm_py.errors import ProviderError
from exllm_py.types import ToolCall
from tests.fakes import (
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    json_reply,
    sse_reply,
)
from tests.live.loopback import Live

pytestmark = pytest.mark.live_api

PROVIDER = "anthropic"
MODEL = "claude-3-5-haiku-20241022"
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class TestAnthropicLive:
    """Each call replays the provider's recorded answer, marked as coming from the cassette."""

    def test_chat(self, live: Live) -> None:
        live.script(json_reply(anthropic_message("Paris", model=MODEL)))
        response = live.client.chat(PROVIDER, QUESTION, model=MODEL, temperature=0, max_tokens=10)
        assert "Paris" in response.content
        assert response.finish_reason == "stop"
        assert response.usage.total_tokens > 0
        assert response.metadata["from_cache"] is live.replaying

    def test_stream(self, live: Live) -> None:
        live.script(sse_reply(anthropic_stream_events("The capital is Paris.", model=MODEL)))
        chunks = list(
            live.client.stream(PROVIDER, QUESTION, model=MODEL, temperature=0, max_tokens=20)
        )
        assert len(chunks) > 1
        assert "Paris" in "".join(chunk.content for chunk in chunks)
        assert any(chunk.finish_reason == "stop" for chunk in chunks)

    def test_tool_call(self, live: Live) -> None:
        call = ToolCall("toolu_weather_1", "get_weather", {"city": "Paris"})
        live.script(json_reply(anthropic_message(None, model=MODEL, tool_calls=[call])))
        response = live.client.chat(
            PROVIDER,
            [{"role": "user", "content": "What is the weather in Paris?"}],
            model=MODEL,
            temperature=0,
            max_tokens=200,
            tools=[WEATHER_TOOL],
            tool_choice="required",
        )
        [tool_call] = response.tool_calls
        assert tool_call.name == "get_weather"
        assert tool_call.arguments == {"city": "Paris"}
        assert response.finish_reason == "tool_calls"

    def test_unknown_model_error(self, live: Live) -> None:
        live.script(
            json_reply(anthropic_error("model: no-such-model", type="not_found_error"), status=404)
        )
        with pytest.raises(ProviderError) as caught:
            live.client.chat(PROVIDER, QUESTION, model="no-such-model", max_tokens=10)
        assert caught.value.status == 404
        assert "no-such-model" in str(caught.value)
