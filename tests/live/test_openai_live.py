"""OpenAI's chat completions API, live: the :class:`~tests.live.contract.LiveContract` tests.

Replayed from ``cassettes/tests.live.test_openai_live/``, which were recorded
against the loopback server speaking OpenAI's wire format (no keys, no
internet where they were made). Re-record them against the real API with::

    OPENAI_API_KEY=sk-... pytest tests/live/test_openai_live.py --exllm-record-mode=rewrite
"""

from __future__ import annotations

from exllm_py.types import ToolCall
from tests.fakes import json_reply, openai_completion, openai_error, openai_stream_events, sse_reply
from tests.live.contract import LiveContract


class TestOpenAILive(LiveContract):
    PROVIDER = "openai"
    MODEL = "gpt-4o-mini"
    CHAT_REPLY = json_reply(openai_completion("Paris", model="gpt-4o-mini-2024-07-18"))
    STREAM_REPLY = sse_reply(openai_stream_events("The capital is Paris.", include_usage=True))
    TOOL_REPLY = json_reply(
        openai_completion(
            None, tool_calls=[ToolCall("call_weather_1", "get_weather", {"city": "Paris"})]
        )
    )
    ERROR_REPLY = json_reply(
        openai_error(
            "The model `no-such-model` does not exist or you do not have access to it.",
            code="model_not_found",
        ),
        status=404,
    )
