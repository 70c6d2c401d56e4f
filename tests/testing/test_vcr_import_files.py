"""Tests for exllm_py.testing.vcr_import on vcrpy files written by hand.

vcrpy's own recordings (``test_vcr_import``) cover what vcrpy writes today;
hand-written files cover what older vcrpy versions and hand edits leave:
lowercase methods, header values as plain strings, missing statuses and
bodies, an unterminated last event, a ``.JSON`` suffix, characters that
only a JSON reader decodes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette_file import Body
from exllm_py.testing.redact import REDACTED, RecordingRefused
from exllm_py.testing.vcr_import import import_vcr_cassette, read_vcr_cassette

# Built at run time so that no key-shaped literal sits in the repository.
URL_KEY = "AIza" + "SyD-handwritten-0123456789abcdef"
BEARER = "sk-" + "handwritten-0123456789abcdef"
# 2023-11-14T22:13:20Z: the file's modification time is the recording time.
MTIME = 1_700_000_000

STREAM = {
    "request": {
        "method": "post",
        "uri": f"https://api.example.com/v1beta/models/m:streamGenerateContent?alt=sse&key={URL_KEY}",
        "headers": {"Authorization": [f"Bearer {BEARER}"], "Content-Type": ["application/json"]},
        "body": '{"stream": true, "model": "m"}',
    },
    "response": {
        "status": {"code": 201, "message": "Created"},
        "headers": {"X-Trace": "abc", "Content-Type": ["text/event-stream"]},
        # The last event has no blank line after it: the stream just ended.
        "body": {"string": 'data: {"text": "Hel"}\n\ndata: {"text": "lo"}'},
    },
}
BARE = {
    "request": {
        "method": "GET",
        "uri": "https://other.example.org/v1/models",
        "headers": {},
        "body": None,
    },
    "response": {"headers": {"X-Trace": ["def"]}},
}
# Python's json writes characters outside the BMP as surrogate-pair escapes,
# which only a JSON reader joins back; YAML would keep two lone surrogates.
EMOJI = {
    "request": {
        "method": "POST",
        "uri": "https://api.example.com/v1/x",
        "headers": {},
        "body": "{}",
    },
    "response": {"status": {"code": 200}, "body": {"string": "Done \U0001f600"}},
}


def write_vcr(path: Path, *interactions: dict[str, Any]) -> Path:
    document = {"version": 1, "interactions": list(interactions)}
    path.write_text(json.dumps(document, indent="\t"))
    os.utime(path, (MTIME, MTIME))
    return path


class TestReadVcrCassette:
    """Every part of a vcrpy interaction becomes its exllm_py counterpart, nothing written."""

    @pytest.fixture
    def source(self, tmp_path: Path) -> Path:
        return write_vcr(tmp_path / "handmade.JSON", STREAM, BARE)

    def test_the_request_is_kept_redacted(self, source: Path) -> None:
        request = read_vcr_cassette(source).interactions[0].request
        assert request.method == "POST"
        assert request.url == (
            f"https://api.example.com/v1beta/models/m:streamGenerateContent?alt=sse&key={REDACTED}"
        )
        assert request.headers == (
            ("authorization", REDACTED),
            ("content-type", "application/json"),
        )
        assert request.body == Body("json", {"model": "m", "stream": True})

    def test_the_response_keeps_status_headers_and_every_event(self, source: Path) -> None:
        response = read_vcr_cassette(source).interactions[0].response
        assert response.status == 201
        assert response.headers == (("content-type", "text/event-stream"), ("x-trace", "abc"))
        assert response.body == Body.from_events(['data: {"text": "Hel"}', 'data: {"text": "lo"}'])

    def test_what_the_file_leaves_out_gets_its_default(self, source: Path) -> None:
        bare = read_vcr_cassette(source).interactions[1]
        assert bare.request.method == "GET"
        assert bare.request.body == Body.from_bytes(b"")
        assert bare.response.status == 200
        assert bare.response.headers == (("x-trace", "def"),)
        assert bare.response.body == Body.from_bytes(b"")

    def test_each_interaction_is_dated_by_the_file_and_named_by_its_host(
        self, source: Path
    ) -> None:
        cassette = read_vcr_cassette(source)
        assert [item.recorded_at for item in cassette.interactions] == ["2023-11-14T22:13:20Z"] * 2
        sources = [item.source for item in cassette.interactions]
        assert sources == [
            "live API at https://api.example.com (imported from vcrpy cassette handmade.JSON)",
            "live API at https://other.example.org (imported from vcrpy cassette handmade.JSON)",
        ]
        assert cassette.metadata == {"source": "; ".join(sources)}

    def test_reading_writes_nothing(self, source: Path) -> None:
        read_vcr_cassette(source)
        assert sorted(path.name for path in source.parent.iterdir()) == ["handmade.JSON"]


class TestWhatOnlyJsonReads:
    """A ``.json`` file is read as JSON, whatever the case of its suffix."""

    @pytest.mark.parametrize("name", ["emoji.json", "emoji.JSON"])
    def test_characters_escaped_as_surrogate_pairs_come_back_whole(
        self, tmp_path: Path, name: str
    ) -> None:
        source = write_vcr(tmp_path / name, EMOJI)
        response = read_vcr_cassette(source).interactions[0].response
        assert response.body == Body.from_bytes("Done \U0001f600".encode())
        assert response.headers == ()


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class TestRecordingTime:
    """The file's modification time is the recording time, in UTC on any machine."""

    @pytest.mark.usefixtures("far_from_utc")
    def test_the_time_is_utc_where_the_local_zone_is_not(self, tmp_path: Path) -> None:
        source = write_vcr(tmp_path / "chat.json", BARE)
        assert read_vcr_cassette(source).interactions[0].recorded_at == "2023-11-14T22:13:20Z"


class TestRefusals:
    """What cannot be imported says why, and nothing is written."""

    def test_a_key_from_a_request_url_echoed_in_an_answer_refuses_the_import(
        self, tmp_path: Path
    ) -> None:
        echo = json.loads(json.dumps(BARE))
        echo["request"]["uri"] = f"https://other.example.org/v1/models?key={URL_KEY}"
        echo["response"]["body"] = {"string": f"unknown key {URL_KEY}"}
        source = write_vcr(tmp_path / "echo.json", echo)
        destination = tmp_path / "out.json"
        with pytest.raises(RecordingRefused, match="the key query parameter") as refused:
            import_vcr_cassette(source, destination)
        assert URL_KEY not in str(refused.value)
        assert not destination.exists()

    def test_an_existing_destination_is_named(self, tmp_path: Path) -> None:
        source = write_vcr(tmp_path / "chat.json", BARE)
        destination = tmp_path / "taken.json"
        destination.write_text("{}")
        with pytest.raises(FileExistsError) as caught:
            import_vcr_cassette(source, destination)
        assert str(caught.value) == (
            f"{destination} exists; choose another destination or pass overwrite=True"
        )
        assert destination.read_text() == "{}"

    def test_an_unreadable_file_names_the_parsers_error(self, tmp_path: Path) -> None:
        source = tmp_path / "broken.yaml"
        source.write_text("interactions: [ {request: }")
        with pytest.raises(RecordingCorrupt) as caught:
            read_vcr_cassette(source)
        assert str(caught.value).startswith(f"vcrpy cassette {source} cannot be read: ")
        reason = str(caught.value).removeprefix(f"vcrpy cassette {source} cannot be read: ")
        assert reason.split(":")[0].endswith("Error")

    @pytest.mark.parametrize("part", ["body", "headers"])
    def test_a_character_no_utf_8_can_hold_is_corrupt_naming_it(
        self, tmp_path: Path, part: str
    ) -> None:
        # A lone surrogate: json writes it as an escape, and reads it back as itself.
        lone = json.loads(json.dumps(EMOJI))
        lone["response"][part] = (
            {"string": "Done \ud83d"} if part == "body" else {"X-Trace": ["\ud83d"]}
        )
        source = write_vcr(tmp_path / "lone.json", lone)
        destination = tmp_path / "out.json"
        with pytest.raises(RecordingCorrupt) as caught:
            import_vcr_cassette(source, destination)
        message = str(caught.value)
        assert message.startswith(
            f"vcrpy cassette {source} cannot be read: it holds '\\ud83d', which cannot be "
            "encoded ("  # then why, as the codec says it
        )
        assert message.endswith("); remove it from the file or re-record")
        assert not destination.exists()

    def test_a_missing_file_is_not_found_rather_than_corrupt(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            read_vcr_cassette(tmp_path / "absent.yaml")

    def test_without_vcrpy_the_error_names_the_extra_to_install(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        source = write_vcr(tmp_path / "chat.json", BARE)
        monkeypatch.setitem(sys.modules, "vcr.persisters.filesystem", None)
        with pytest.raises(ImportError) as caught:
            read_vcr_cassette(source)
        assert str(caught.value) == (
            "importing vcrpy cassettes needs vcrpy: pip install 'exllm_py[testing]'"
        )
