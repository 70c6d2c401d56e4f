"""Anthropic's Messages API, live: the :class:`~tests.live.contract.LiveContract` tests.

Replayed from ``cassettes/tests.live.test_anthropic_live/``, which were
recorded against the loopback server speaking Anthropic's wire format (no
keys, no internet where they were made). Re-record them against the real
API with::

    ANTHROPIC_API_KEY=sk-ant-... pytest tests/live/test_anthropic_live.py \\
        --exllm-record-mode=rewrite
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from exllm_py.types import ToolCall
from tests.fakes import (
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    json_reply,
    sse_reply,
)
from tests.live.contract import LiveContract


class TestAnthropicLive(LiveContract):
    PROVIDER = "anthropic"
    MODEL = "claude-3-5-haiku-20241022"
    CHAT_REPLY = json_reply(anthropic_message("Paris", model=MODEL))
    STREAM_REPLY = sse_reply(anthropic_stream_events("The capital is Paris.", model=MODEL))
    TOOL_REPLY = json_reply(
        anthropic_message(
            None,
            model=MODEL,
            tool_calls=[ToolCall("toolu_weather_1", "get_weather", {"city": "Paris"})],
        )
    )
    ERROR_REPLY = json_reply(
        anthropic_error("model: no-such-model", type="not_found_error"), status=404
    )
    # The Messages API requires max_tokens on every request.
    TOOL_OPTIONS: ClassVar[Mapping[str, Any]] = {"max_tokens": 200}
    ERROR_OPTIONS: ClassVar[Mapping[str, Any]] = {"max_tokens": 10}
