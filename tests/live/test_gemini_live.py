"""Google's Gemini generateContent API, live: the :class:`~tests.live.contract.LiveContract` tests.

Replayed from ``cassettes/tests.live.test_gemini_live/``, which were recorded
against the loopback server speaking Gemini's wire format (no keys, no
internet where they were made). Re-record them against the real API with::

    GEMINI_API_KEY=... pytest tests/live/test_gemini_live.py --exllm-record-mode=rewrite
"""

from __future__ import annotations

from exllm_py.types import ToolCall
from tests.fakes import gemini_error, gemini_response, gemini_stream_events, json_reply, sse_reply
from tests.live.contract import LiveContract


class TestGeminiLive(LiveContract):
    PROVIDER = "gemini"
    MODEL = "gemini-2.0-flash"
    CHAT_REPLY = json_reply(gemini_response("Paris", model=MODEL))
    STREAM_REPLY = sse_reply(gemini_stream_events("The capital is Paris.", model=MODEL))
    TOOL_REPLY = json_reply(
        gemini_response(
            None, model=MODEL, tool_calls=[ToolCall("", "get_weather", {"city": "Paris"})]
        )
    )
    ERROR_REPLY = json_reply(
        gemini_error(
            "models/no-such-model is not found for API version v1beta",
            code=404,
            status="NOT_FOUND",
        ),
        status=404,
    )
