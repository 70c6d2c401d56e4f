"""Damaged cassettes: whatever is wrong with the file, a replay is correct or RecordingCorrupt.

A valid cassette (JSON, streamed, text and binary answers) is written with
the test cache's own writer, then damaged: cut short, bytes overwritten,
fields deleted, values swapped for values of other types. Replaying each of
its requests through the recording transport must then either answer with
exactly what the damaged file holds, find no recording (the damage changed
the request), or raise ``RecordingCorrupt`` naming the file. Never another
exception.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exllm_py.errors import RecordingCorrupt, RecordingNotFound
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    encode_cassette,
    read_cassette,
)
from exllm_py.testing.transport import RecordingTransport

URL = "https://api.example.com/v1/chat"
JSON = (("content-type", "application/json"),)


def _interaction(question: str, response: RecordedResponse) -> Interaction:
    request = RecordedRequest("POST", URL, JSON, Body.from_bytes(orjson.dumps({"q": question})))
    return Interaction(request, response, "2025-01-01T00:00:00Z", "loopback")


VALID = encode_cassette(
    CassetteFile(
        (
            _interaction("json", RecordedResponse(200, JSON, Body.from_bytes(b'{"a": [1, "x"]}'))),
            _interaction(
                "sse",
                RecordedResponse(
                    200,
                    (("content-type", "text/event-stream"),),
                    Body.from_events(['data: {"d": 1}', "data: [DONE]"]),
                ),
            ),
            _interaction(
                "text", RecordedResponse(500, (("x-note", "plain"),), Body.from_bytes(b"oops"))
            ),
            _interaction("binary", RecordedResponse(200, (), Body.from_bytes(b"\xff\xfe\x00"))),
        ),
        {"test": "tests/test_x.py::test_y", "source": "loopback"},
    )
)
QUESTIONS = ("json", "sse", "text", "binary")


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``document``: keys of objects, indexes of lists."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_paths(value, (*prefix, index)))
    return found


PATHS = _paths(orjson.loads(VALID))[1:]

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


def _delete(document: Any, path: tuple[Any, ...]) -> Any:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return document


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """The valid cassette, damaged in one of several ways."""
    how = draw(st.sampled_from(["truncate", "bytes", "delete", "swap", "text"]))
    if how == "truncate":
        return VALID[: draw(st.integers(0, len(VALID) - 1))]
    if how == "bytes":
        at = draw(st.integers(0, len(VALID) - 1))
        noise = draw(st.binary(min_size=1, max_size=4))
        return VALID[:at] + noise + VALID[at + len(noise) :]
    document = orjson.loads(VALID)
    path = draw(st.sampled_from(PATHS))
    if how == "delete":
        _delete(document, path)
    elif how == "swap":
        _replace(document, path, draw(JSON_VALUES))
    else:  # any text where a string was: URLs, header names and values, events, base64
        _replace(document, path, draw(st.text(max_size=16)))
    return json.dumps(document).encode()  # json: it writes integers of any size


def _request(question: str) -> httpx.Request:
    return httpx.Request("POST", URL, headers=dict(JSON), content=orjson.dumps({"q": question}))


def _replay(path: Path, question: str) -> str:
    """What replaying ``question`` from ``path`` came to: "replayed", "not found" or "corrupt"."""
    try:
        cassette = Cassette.open(path, mode="none")
        transport = RecordingTransport(httpx.HTTPTransport(), lambda: cassette)
        with httpx.Client(transport=transport) as client:
            response = client.send(_request(question))
            content = response.read()
    except RecordingCorrupt as exc:
        return "corrupt" if str(path) in str(exc) else f"corrupt, not naming the file: {exc}"
    except RecordingNotFound:
        return "not found"
    recorded = cassette.played[-1].response
    assert response.status_code == recorded.status
    assert content == recorded.body.to_bytes()
    return "replayed"


class TestEveryDamageIsReplayedOrNamed:
    """A damaged cassette replays what it holds, or raises RecordingCorrupt naming the file."""

    # differing_executors: mutmut runs this test again from its own runner.
    @settings(
        max_examples=300,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(content=damaged(), question=st.sampled_from(QUESTIONS))
    def test_fuzz(self, tmp_path: Path, content: bytes, question: str) -> None:
        path = tmp_path / "fuzzed.json"
        path.write_bytes(content)
        assert _replay(path, question) in ("replayed", "not found", "corrupt")

    def test_the_undamaged_cassette_replays_every_answer(self, tmp_path: Path) -> None:
        path = tmp_path / "valid.json"
        path.write_bytes(VALID)
        assert [_replay(path, question) for question in QUESTIONS] == ["replayed"] * 4


def _edited(tmp_path: Path, edit: Any) -> Path:
    document = orjson.loads(VALID)
    edit(document)
    path = tmp_path / "edited.json"
    path.write_bytes(orjson.dumps(document))
    return path


class TestNamedProblems:
    """Each damage the review found is RecordingCorrupt naming the file and the problem."""

    @pytest.mark.parametrize(
        "url", ["http://[::1", "http://host:port/", "https://exa\u00a0mple.com/"]
    )
    def test_a_bad_url(self, tmp_path: Path, url: str) -> None:
        path = _edited(tmp_path, lambda d: d["interactions"][0]["request"].update(url=url))
        with pytest.raises(RecordingCorrupt, match=r"interactions\[0\]\.request\.url") as caught:
            read_cassette(path)
        assert str(path) in str(caught.value)

    def test_a_non_ascii_header_name(self, tmp_path: Path) -> None:
        path = _edited(
            tmp_path, lambda d: d["interactions"][0]["response"]["headers"].update({"x-é": "1"})
        )
        with pytest.raises(RecordingCorrupt, match="header name 'x-é'") as caught:
            read_cassette(path)
        assert str(path) in str(caught.value)

    def test_a_non_ascii_header_value_replays(self, tmp_path: Path) -> None:
        path = _edited(
            tmp_path,
            lambda d: d["interactions"][0]["response"]["headers"].update({"x-name": "café"}),
        )
        assert _replay(path, "json") == "replayed"

    def test_a_content_encoding_on_a_stored_body(self, tmp_path: Path) -> None:
        path = _edited(
            tmp_path,
            lambda d: d["interactions"][0]["response"]["headers"].update(
                {"content-encoding": "gzip"}
            ),
        )
        with pytest.raises(RecordingCorrupt, match="content-encoding") as caught:
            read_cassette(path)
        assert str(path) in str(caught.value)

    def test_a_directory_where_the_cassette_should_be(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        path.mkdir()
        with pytest.raises(RecordingCorrupt, match="is a directory") as caught:
            Cassette.open(path, mode="none")
        assert str(path) in str(caught.value)

    def test_a_file_where_the_module_folder_should_be(self, tmp_path: Path) -> None:
        (tmp_path / "tests.test_x").write_text("not a folder")
        path = tmp_path / "tests.test_x" / "test_y.json"
        with pytest.raises(RecordingCorrupt, match="not a directory") as caught:
            Cassette.open(path, mode="once")
        assert str(path) in str(caught.value)

    def test_base64_that_is_not(self, tmp_path: Path) -> None:
        text = base64.b64encode(b"x").decode() + "!"
        path = _edited(tmp_path, lambda d: d["interactions"][3]["response"].update(base64=text))
        with pytest.raises(RecordingCorrupt, match="not valid base64"):
            read_cassette(path)
