"""Tests for exllm_py.testing.cassette_file: the values each field accepts, and whole messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette_file import (
    FORMAT_VERSION,
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    decode_cassette,
    encode_cassette,
)
from exllm_py.testing.record_mode import RecordMode

# The advice every decoding failure ends with: the option it names must stay the real one.
REWRITE = "--exllm-record-mode=rewrite"


def _interaction(question: str) -> Interaction:
    return Interaction(
        RecordedRequest(
            "POST",
            "https://api.example.com/v1/chat",
            (("content-type", "application/json"),),
            Body.from_bytes(orjson.dumps({"q": question})),
        ),
        RecordedResponse(200, (("content-type", "application/json"),), Body.from_bytes(b"{}")),
        "2025-01-01T00:00:00Z",
        "loopback",
    )


def _second_edited(edit: Callable[[dict[str, Any]], object]) -> bytes:
    """Two sound interactions encoded, then the second one changed by ``edit``."""
    encoded = encode_cassette(CassetteFile((_interaction("first"), _interaction("second"))))
    document = orjson.loads(encoded)
    edit(document["interactions"][1])
    return orjson.dumps(document)


def _problem(data: bytes) -> str:
    with pytest.raises(RecordingCorrupt) as caught:
        decode_cassette(data, "c.json")
    return str(caught.value)


class TestStatus:
    """Every status from 100 to 599 is a response; anything outside is a corrupt cassette."""

    @pytest.mark.parametrize("status", [100, 101, 204, 599])
    def test_a_status_in_range_is_read(self, status: int) -> None:
        data = _second_edited(lambda item: item["response"].update(status=status))
        assert decode_cassette(data).interactions[1].response.status == status

    @pytest.mark.parametrize("status", [99, 600, True])
    def test_a_status_out_of_range_is_named(self, status: int) -> None:
        data = _second_edited(lambda item: item["response"].update(status=status))
        problem = f"interactions[1].response.status must be an HTTP status, got {status!r}"
        assert problem in _problem(data)


class TestFieldProblemsNameTheirPlace:
    """A field of the wrong kind is named by its interaction and its path in the interaction."""

    @pytest.mark.parametrize(
        ("edit", "problem"),
        [
            (
                lambda item: item["request"]["headers"].update({"x-é": "1"}),
                "interactions[1].request.headers has the header name 'x-é', not ASCII",
            ),
            (
                lambda item: item["request"]["headers"].update({"x-many": ["1", 2]}),
                "interactions[1].request.headers.x-many[] must be a string, got int 2",
            ),
            (
                lambda item: item["request"].update(headers=["content-type"]),
                "interactions[1].request.headers must be a JSON object, got list ['content-type']",
            ),
            (
                lambda item: item["response"]["headers"].update({"x-many": 3}),
                "interactions[1].response.headers.x-many must be a list, got int 3",
            ),
            (
                lambda item: item.update(source=5),
                "interactions[1].source must be a string, got int 5",
            ),
            (
                lambda item: item.update(recorded_at=None),
                "interactions[1].recorded_at must be a string, got nothing",
            ),
            (
                lambda item: item["request"].update(method=["POST"]),
                "interactions[1].request.method must be a string, got list ['POST']",
            ),
        ],
        ids=[
            "header-name",
            "header-list-item",
            "headers",
            "header-value",
            "source",
            "recorded-at",
            "method",
        ],
    )
    def test_the_message_names_the_field(
        self, edit: Callable[[dict[str, Any]], object], problem: str
    ) -> None:
        assert f": {problem};" in _problem(_second_edited(edit))

    def test_repeated_request_headers_are_read_in_order_and_lowercase(self) -> None:
        data = _second_edited(
            lambda item: item["request"]["headers"].update({"X-Many": ["1", "2"]})
        )
        request = decode_cassette(data).interactions[1].request
        assert request.headers == (
            ("content-type", "application/json"),
            ("x-many", "1"),
            ("x-many", "2"),
        )


class TestWholeMessages:
    """A decoding failure names the file, the problem, and the option that re-records it."""

    def test_json_that_does_not_parse(self) -> None:
        data = b'{"version": 1,'
        with pytest.raises(orjson.JSONDecodeError) as parsing:
            orjson.loads(data)
        assert _problem(data) == (
            f"cassette c.json is not valid JSON ({parsing.value}); fix it by hand, "
            f"or delete it and re-record ({REWRITE})"
        )

    def test_a_document_that_is_not_a_cassette(self) -> None:
        data = orjson.dumps({"version": FORMAT_VERSION + 1, "interactions": []})
        assert _problem(data) == (
            f"cassette c.json is not a valid exllm_py cassette: format version "
            f"{FORMAT_VERSION + 1} is not supported (this exllm_py reads version "
            f"{FORMAT_VERSION}); upgrade exllm_py or re-record; fix it by hand, "
            f"or delete it and re-record ({REWRITE})"
        )

    def test_bytes_without_a_path_are_called_cassette(self) -> None:
        with pytest.raises(RecordingCorrupt) as caught:
            decode_cassette(b"[]")
        assert str(caught.value).startswith(
            "cassette <cassette> is not a valid exllm_py cassette: "
            "expected a JSON object at the top, got list;"
        )

    def test_the_advice_names_an_option_and_mode_the_plugin_has(
        self, pytestconfig: pytest.Config
    ) -> None:
        option, mode = REWRITE.split("=")
        assert mode in set(RecordMode)
        # getoption raises ValueError for an option no plugin registered.
        assert pytestconfig.getoption(option) in {None, *RecordMode}
