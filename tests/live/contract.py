"""What every provider's live test checks: chat, stream, a tool call and an error.

:class:`LiveContract` holds the four tests; each ``test_<provider>_live.py``
subclasses it with the provider's name, model, and the replies the loopback
server scripts in that provider's wire format. The subclass lives in the
provider's module, so each test's cassette stays at
``cassettes/tests.live.test_<provider>_live/Test<Provider>Live.<test>.json``.

The replies only shape the loopback server's answers (see ``conftest.py``);
the real APIs answer these prompts the same way, so the assertions hold for
both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from exllm_py.errors import ProviderError
from tests.fakes import Reply
from tests.live.loopback import Live

__all__ = ["QUESTION", "WEATHER_QUESTION", "WEATHER_TOOL", "LiveContract"]

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]
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


@pytest.mark.live_api
class LiveContract:
    """Each call replays the provider's recorded answer, marked as coming from the cassette."""

    #: The provider and model the tests call.
    PROVIDER: ClassVar[str]
    MODEL: ClassVar[str]
    #: What the loopback server answers each test with, in the provider's wire format.
    CHAT_REPLY: ClassVar[Reply]
    STREAM_REPLY: ClassVar[Reply]
    TOOL_REPLY: ClassVar[Reply]
    #: A 404 for the model ``no-such-model``.
    ERROR_REPLY: ClassVar[Reply]
    #: Options the provider's API needs beyond the tests' own (Anthropic: max_tokens).
    TOOL_OPTIONS: ClassVar[Mapping[str, Any]] = {}
    ERROR_OPTIONS: ClassVar[Mapping[str, Any]] = {}

    def test_chat(self, live: Live) -> None:
        live.script(self.CHAT_REPLY)
        response = live.client.chat(
            self.PROVIDER, QUESTION, model=self.MODEL, temperature=0, max_tokens=10
        )
        assert "Paris" in response.content
        assert response.finish_reason == "stop"
        assert response.usage.total_tokens > 0
        assert response.metadata["from_cache"] is live.replaying

    def test_stream(self, live: Live) -> None:
        live.script(self.STREAM_REPLY)
        chunks = list(
            live.client.stream(
                self.PROVIDER, QUESTION, model=self.MODEL, temperature=0, max_tokens=20
            )
        )
        assert len(chunks) > 1
        assert "Paris" in "".join(chunk.content for chunk in chunks)
        assert any(chunk.finish_reason == "stop" for chunk in chunks)

    def test_tool_call(self, live: Live) -> None:
        live.script(self.TOOL_REPLY)
        response = live.client.chat(
            self.PROVIDER,
            WEATHER_QUESTION,
            model=self.MODEL,
            temperature=0,
            tools=[WEATHER_TOOL],
            tool_choice="required",
            **self.TOOL_OPTIONS,
        )
        [tool_call] = response.tool_calls
        assert tool_call.name == "get_weather"
        assert tool_call.arguments == {"city": "Paris"}
        assert response.finish_reason == "tool_calls"

    def test_unknown_model_error(self, live: Live) -> None:
        live.script(self.ERROR_REPLY)
        with pytest.raises(ProviderError) as caught:
            live.client.chat(self.PROVIDER, QUESTION, model="no-such-model", **self.ERROR_OPTIONS)
        assert caught.value.status == 404
        assert "no-such-model" in str(caught.value)
