"""Tests of exllm_py.providers.reading.gemini: generateContent bodies read back into calls."""

from __future__ import annotations

from typing import Any

import pytest

from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.reading import CallReading, ForeignEndpoint, ForeignRequest, read_request
from tests.providers.reading.sent import BASE_URL, read_back, sent

QUESTION = {"role": "user", "content": "Which country am I in?"}
TOOL = {
    "type": "function",
    "function": {
        "name": "country",
        "description": "The user's country.",
        "parameters": {"type": "object", "properties": {"hint": {"type": "string"}}},
    },
}
URL = f"{BASE_URL}/models/gemini-2.0-flash:generateContent"


def call_of(call_id: str, name: str = "country", arguments: str = "{}") -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}


def first(messages: list[dict[str, Any]], options: dict[str, Any]) -> CallReading:
    return read_back("gemini", messages, options)[0]


class TestReadingBack:
    """The adapter's translation is undone: the model from the URL, options, tools, contents."""

    def test_the_model_and_options_read_back(self) -> None:
        options: dict[str, Any] = {
            "model": "gemini-2.0-flash",
            "system": "Be brief.",
            "temperature": 0.3,
            "max_tokens": 64,
            "top_p": 0.8,
            "seed": 5,
            "n": 2,
            "frequency_penalty": 0.2,
            "presence_penalty": 0.1,
            "stop": ["END", "STOP"],
            "response_format": {"type": "json_object"},
            "tools": [TOOL],
            "tool_choice": "required",
        }
        assert first([QUESTION], options) == CallReading(
            [QUESTION], {**options, "base_url": BASE_URL}
        )

    def test_a_json_schema_format_reads_back_with_its_schema(self) -> None:
        schema = {"type": "object", "properties": {"city": {"type": "string"}}}
        response_format = {"type": "json_schema", "json_schema": {"schema": schema}}
        options = {"model": "gemini-2.0-flash", "response_format": response_format}
        assert first([QUESTION], options).options["response_format"] == response_format

    def test_a_model_name_that_needs_quoting_reads_back_unquoted(self) -> None:
        options = {"model": "gemini 2.0 flash"}
        url, _ = sent("gemini", [QUESTION], options)
        assert "%20" in url
        assert first([QUESTION], options).options["model"] == "gemini 2.0 flash"

    @pytest.mark.parametrize(
        "choice", ["auto", "none", {"type": "function", "function": {"name": "country"}}]
    )
    def test_each_tool_choice_reads_back(self, choice: Any) -> None:
        options = {"model": "gemini-2.0-flash", "tools": [TOOL], "tool_choice": choice}
        assert first([QUESTION], options).options["tool_choice"] == choice

    def test_a_tool_conversation_reads_back_with_the_ids_gemini_answers_give(self) -> None:
        conversation = [
            QUESTION,
            {"role": "assistant", "content": None, "tool_calls": [call_of("call_0")]},
            {"role": "tool", "tool_call_id": "call_0", "content": "Mexico"},
            {
                "role": "assistant",
                "content": "Checking twice.",
                "tool_calls": [
                    call_of("call_0", "weather", '{"city":"Mexico City"}'),
                    call_of("call_1"),
                ],
            },
            {"role": "tool", "tool_call_id": "call_0", "content": '{"sky":"clear"}'},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        ]
        assert first(conversation, {"model": "gemini-2.0-flash"}).messages == conversation

    def test_images_read_back_as_image_url_parts(self) -> None:
        content = [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ]
        message = {"role": "user", "content": content}
        assert first([message], {"model": "gemini-2.0-flash"}).messages == [message]


class TestSpellings:
    """The system prompt and a single stop sequence read two ways each."""

    def test_every_combination_is_read(self) -> None:
        options = {"model": "gemini-2.0-flash", "system": "Be brief.", "stop": "END"}
        readings = read_back("gemini", [QUESTION], options)
        assert len(readings) == 4
        assert {
            (reading.options.get("system"), repr(reading.options["stop"]), len(reading.messages))
            for reading in readings
        } == {
            ("Be brief.", "['END']", 1),
            ("Be brief.", "'END'", 1),
            (None, "['END']", 2),
            (None, "'END'", 2),
        }


class TestForeignRequests:
    """Fields, shapes and endpoints this client never uses are refused."""

    def test_a_generation_field_the_adapter_never_sends_is_refused(self) -> None:
        _, body = sent("gemini", [QUESTION], {"model": "gemini-2.0-flash", "temperature": 0})
        body["generationConfig"]["thinkingConfig"] = {"thinkingBudget": 0}
        with pytest.raises(ForeignRequest, match="thinkingConfig"):
            read_request(GeminiAdapter(), URL, body)

    def test_a_mime_type_other_than_json_is_refused(self) -> None:
        body = {"contents": [], "generationConfig": {"responseMimeType": "text/x.enum"}}
        with pytest.raises(ForeignRequest, match=r"text/x\.enum"):
            read_request(GeminiAdapter(), URL, body)

    def test_a_system_instruction_of_several_parts_is_refused(self) -> None:
        instruction = {"parts": [{"text": "a"}, {"text": "b"}]}
        with pytest.raises(ForeignRequest, match="systemInstruction"):
            read_request(GeminiAdapter(), URL, {"contents": [], "systemInstruction": instruction})

    @pytest.mark.parametrize(
        "url",
        [
            f"{BASE_URL}/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            f"{BASE_URL}/tunedModels/mine:generateContent",
            f"{BASE_URL}/models/gemini-2.0-flash:countTokens",
        ],
    )
    def test_another_endpoint_is_refused(self, url: str) -> None:
        with pytest.raises(ForeignEndpoint):
            read_request(GeminiAdapter(), url, {"contents": []})
