"""Tests of exllm_py.providers.reading.openai: chat-completions bodies read back into calls."""

from __future__ import annotations

from typing import Any

import pytest

from exllm_py.providers.openai import OpenAIAdapter
from exllm_py.providers.reading import CallReading, ForeignEndpoint, ForeignRequest, read_request
from tests.providers.reading.sent import BASE_URL, read_back, sent

QUESTION = {"role": "user", "content": "Which country am I in?"}
SYSTEM = {"role": "system", "content": "Be brief."}
TOOL = {"type": "function", "function": {"name": "country", "parameters": {"type": "object"}}}
URL = f"{BASE_URL}/chat/completions"


class TestReadingBack:
    """What the adapter sends reads back as the call that sent it, base URL included."""

    def test_every_answer_option_reads_back_under_its_name(self) -> None:
        options: dict[str, Any] = {
            "model": "gpt-4o",
            "temperature": 0.5,
            "max_tokens": 40,
            "top_p": 0.9,
            "stop": ["\n"],
            "seed": 3,
            "tools": [TOOL],
            "tool_choice": "required",
            "response_format": {"type": "json_object"},
            "n": 2,
            "frequency_penalty": 0.1,
            "presence_penalty": -0.1,
        }
        assert read_back("openai", [QUESTION], options) == (
            CallReading([QUESTION], {**options, "base_url": BASE_URL}),
        )

    def test_max_completion_tokens_reads_back_as_max_tokens(self) -> None:
        options = {"model": "o3-mini", "max_tokens": 100}
        url, body = sent("openai", [QUESTION], options)
        assert "max_completion_tokens" in body
        [reading] = read_request(OpenAIAdapter(), url, body)
        assert reading.options == {**options, "base_url": BASE_URL}

    def test_a_preset_reads_back_with_its_base_url(self) -> None:
        [reading] = read_back("groq", [QUESTION], {"model": "llama-3.1-8b-instant"})
        assert reading.options["base_url"] == BASE_URL


class TestSpellings:
    """A leading system message reads back as a message, and as the ``system`` option."""

    @pytest.mark.parametrize(
        ("messages", "options"),
        [
            ([SYSTEM, QUESTION], {"model": "gpt-4o"}),
            ([QUESTION], {"model": "gpt-4o", "system": "Be brief."}),
        ],
    )
    def test_both_spellings_are_read(
        self, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> None:
        base = {"model": "gpt-4o", "base_url": BASE_URL}
        assert read_back("openai", messages, options) == (
            CallReading([SYSTEM, QUESTION], base),
            CallReading([QUESTION], {**base, "system": "Be brief."}),
        )

    def test_a_system_message_with_more_than_text_stays_a_message(self) -> None:
        named = {**SYSTEM, "name": "rules"}
        assert len(read_back("openai", [named, QUESTION], {"model": "gpt-4o"})) == 1

    def test_a_lone_system_message_stays_a_message(self) -> None:
        # As an option, it would leave no messages: no call sends that.
        assert len(read_back("openai", [SYSTEM], {"model": "gpt-4o"})) == 1


class TestForeignRequests:
    """Fields and endpoints this client never uses are refused, by name."""

    @pytest.mark.parametrize("field", ["logprobs", "user", "stream", "system"])
    def test_a_field_that_is_no_answer_option_is_refused(self, field: str) -> None:
        body = {"model": "gpt-4o", "messages": [QUESTION], field: True}
        with pytest.raises(ForeignRequest, match=field):
            read_request(OpenAIAdapter(), URL, body)

    def test_another_endpoint_is_refused(self) -> None:
        with pytest.raises(ForeignEndpoint, match="/embeddings"):
            read_request(OpenAIAdapter(), f"{BASE_URL}/embeddings", {"model": "e", "input": "x"})

    @pytest.mark.parametrize(
        "body", [[QUESTION], {"messages": [QUESTION]}, {"model": "gpt-4o", "messages": "Hi"}]
    )
    def test_a_body_of_another_shape_is_refused(self, body: Any) -> None:
        with pytest.raises(ForeignRequest):
            read_request(OpenAIAdapter(), URL, body)
