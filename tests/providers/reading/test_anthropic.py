"""Tests of exllm_py.providers.reading.anthropic: Messages API bodies read back into calls."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from exllm_py.providers.anthropic import AnthropicAdapter
from exllm_py.providers.reading import CallReading, ForeignEndpoint, ForeignRequest, read_request
from tests.providers.reading.sent import BASE_URL, read_back, sent

QUESTION = {"role": "user", "content": "Which country am I in?"}
TOOL = {
    "type": "function",
    "function": {
        "name": "country",
        "description": "The user's country.",
        "parameters": {"type": "object", "properties": {}},
    },
}
CALL = {"id": "toolu_1", "type": "function", "function": {"name": "country", "arguments": "{}"}}
CONVERSATION = [
    QUESTION,
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "toolu_1", "content": "Mexico"},
]
URL = f"{BASE_URL}/v1/messages"


def first(messages: list[dict[str, Any]], options: dict[str, Any]) -> CallReading:
    return read_back("anthropic", messages, options)[0]


class TestReadingBack:
    """The adapter's translation is undone: options, tools, turns and blocks."""

    def test_options_read_back_in_openai_terms(self) -> None:
        options: dict[str, Any] = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 300,
            "system": "Be brief.",
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["END", "STOP"],
            "tools": [TOOL],
        }
        assert read_back("anthropic", [QUESTION], options)[0] == CallReading(
            [QUESTION], {**options, "base_url": BASE_URL}
        )

    @pytest.mark.parametrize(
        "choice",
        ["auto", "required", "none", {"type": "function", "function": {"name": "country"}}],
    )
    def test_each_tool_choice_reads_back(self, choice: Any) -> None:
        options = {"model": "claude-sonnet-4-5", "max_tokens": 300, "tools": [TOOL]}
        reading = first([QUESTION], {**options, "tool_choice": choice})
        assert reading.options["tool_choice"] == choice

    def test_a_tool_conversation_reads_back(self) -> None:
        options = {"model": "claude-sonnet-4-5", "max_tokens": 300}
        assert first(CONVERSATION, options).messages == CONVERSATION

    def test_images_read_back_as_image_url_parts(self) -> None:
        content = [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]
        message = {"role": "user", "content": content}
        assert first([message], {"model": "claude-sonnet-4-5", "max_tokens": 9}).messages == [
            message
        ]

    def test_consecutive_user_messages_read_back_as_one_message_of_parts(self) -> None:
        # The adapter merges them into one turn; one message of two parts sends the same.
        messages = [{"role": "user", "content": "One."}, {"role": "user", "content": "Two."}]
        reading = first(messages, {"model": "claude-sonnet-4-5", "max_tokens": 9})
        assert reading.messages == [
            {
                "role": "user",
                "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}],
            }
        ]

    def test_a_server_tool_reads_back_as_given(self) -> None:
        search = {"type": "web_search_20250305", "name": "web_search"}
        reading = first(
            [QUESTION], {"model": "claude-sonnet-4-5", "max_tokens": 9, "tools": [search]}
        )
        assert reading.options["tools"] == [search]


class TestSpellings:
    """The system prompt, the default max_tokens and a single stop sequence read two ways each."""

    def test_every_combination_is_read(self) -> None:
        system = {"role": "system", "content": "Be brief."}
        options = {"model": "claude-sonnet-4-5", "system": "Be brief.", "stop": "END"}
        readings = read_back("anthropic", [QUESTION], options)
        seen = {
            (
                reading.messages[0] == system,
                "max_tokens" in reading.options,
                reading.options.get("stop") == "END",
            )
            for reading in readings
        }
        assert len(readings) == 8
        assert seen == set(itertools.product((False, True), repeat=3))

    def test_a_max_tokens_other_than_the_default_reads_one_way(self) -> None:
        assert len(read_back("anthropic", [QUESTION], {"model": "claude-x", "max_tokens": 5})) == 1


class TestForeignRequests:
    """Fields, turns and blocks this client never sends are refused."""

    @pytest.mark.parametrize("field", ["thinking", "metadata", "stream"])
    def test_a_field_the_adapter_never_sends_is_refused(self, field: str) -> None:
        _, body = sent("anthropic", [QUESTION], {"model": "claude-x", "max_tokens": 5})
        with pytest.raises(ForeignRequest, match=field):
            read_request(AnthropicAdapter(), URL, {**body, field: {}})

    def test_a_tool_result_of_blocks_is_refused(self) -> None:
        result = {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text"}]}
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [result]}]}
        with pytest.raises(ForeignRequest, match="tool result"):
            read_request(AnthropicAdapter(), URL, body)

    def test_a_turn_of_another_role_is_refused(self) -> None:
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}
        with pytest.raises(ForeignRequest, match="'system'"):
            read_request(AnthropicAdapter(), URL, body)

    def test_another_endpoint_is_refused(self) -> None:
        with pytest.raises(ForeignEndpoint):
            read_request(AnthropicAdapter(), f"{BASE_URL}/v1/complete", {"model": "m"})
