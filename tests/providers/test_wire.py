"""Tests of the building blocks the adapters share."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from exllm_py.errors import ValidationError
from exllm_py.providers.wire import (
    decode_arguments,
    decode_body,
    error_detail,
    json_request,
    split_data_url,
    system_prompt,
    text_of,
)
from exllm_py.request import ChatRequest


class TestJsonRequest:
    """Requests are compact JSON POSTs that ask for JSON or SSE."""

    def test_body_and_headers(self) -> None:
        http = json_request("https://x.test/a", {"b": [1, "é"]}, {"x-k": "v"})
        assert http.method == "POST"
        assert http.content == orjson.dumps({"b": [1, "é"]})
        assert http.headers["x-k"] == "v"
        assert http.headers["accept"] == "application/json"
        assert http.headers["content-length"] == str(len(http.content))

    def test_stream_accepts_event_stream(self) -> None:
        http = json_request("https://x.test/a", {}, {}, stream=True, params={"alt": "sse"})
        assert http.headers["accept"] == "text/event-stream"
        assert str(http.url) == "https://x.test/a?alt=sse"

    def test_params_join_a_query_the_url_already_has(self) -> None:
        """A base URL's own query (an API version, say) is kept beside the call's params."""
        http = json_request("https://x.test/a?api-version=2", {}, {}, params={"alt": "sse"})
        assert str(http.url) == "https://x.test/a?api-version=2&alt=sse"

    def test_requests_to_one_endpoint_are_independent(self) -> None:
        """Two requests to the same URL (parsed once) each carry their own body and headers."""
        first = json_request("https://x.test/a", {"n": 1}, {"x-k": "1"}, params={"alt": "sse"})
        second = json_request("https://x.test/a", {"n": 2}, {"x-k": "2"})
        assert (str(first.url), first.content, first.headers["x-k"]) == (
            "https://x.test/a?alt=sse",
            b'{"n":1}',
            "1",
        )
        assert (str(second.url), second.content, second.headers["x-k"]) == (
            "https://x.test/a",
            b'{"n":2}',
            "2",
        )


class TestText:
    """Message content flattens to its text."""

    @pytest.mark.parametrize(
        ("content", "text"),
        [
            (None, ""),
            ("plain", "plain"),
            (
                [
                    {"type": "text", "text": "a"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    {"type": "text", "text": "b"},
                ],
                "ab",
            ),
        ],
    )
    def test_text_of(self, content: Any, text: str) -> None:
        assert text_of(content) == text

    def test_system_prompt_joins_option_then_messages(self) -> None:
        request = ChatRequest(
            provider="p",
            model="m",
            messages=[
                {"role": "system", "content": "one"},
                {"role": "user", "content": "hi"},
                {"role": "developer", "content": "two"},
            ],
            options={"system": "zero"},
        )
        assert system_prompt(request) == "zero\n\none\n\ntwo"

    def test_no_system_prompt_is_none(self) -> None:
        request = ChatRequest(provider="p", model="m", messages=[{"role": "user", "content": "x"}])
        assert system_prompt(request) is None


class TestDecoding:
    """Tool arguments, bodies and data URLs decode leniently where the wire is messy."""

    @pytest.mark.parametrize(
        ("arguments", "decoded"),
        [
            ('{"a": 1}', {"a": 1}),
            ({"a": 1}, {"a": 1}),
            ("", {}),
            (None, {}),
            ("[1, 2]", {"_raw": "[1, 2]"}),
            ("{broken", {"_raw": "{broken"}),
        ],
    )
    def test_decode_arguments(self, arguments: Any, decoded: dict[str, Any]) -> None:
        assert decode_arguments(arguments) == decoded

    def test_decode_body(self) -> None:
        assert decode_body(b'{"a": 1}') == {"a": 1}
        assert decode_body(b"oops \xff") == "oops \ufffd"
        assert decode_body(b"") == ""

    def test_split_data_url(self) -> None:
        assert split_data_url("data:image/webp;base64,AAAA") == ("image/webp", "AAAA")
        assert split_data_url("https://x/y.png") is None
        with pytest.raises(ValidationError, match="base64"):
            split_data_url("data:text/plain,hello")

    def test_error_detail_falls_back_to_the_json(self) -> None:
        assert error_detail({"code": 7}) == '{"code":7}'
