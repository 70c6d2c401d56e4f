"""Tests for exllm_py.testing.cassette: record modes, the index and saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from exllm_py import telemetry
from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette import Cassette, RecordMode
from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    write_cassette,
)
from exllm_py.testing.matching import Matcher
from exllm_py.testing.redact import RecordingRefused


def _interaction(question: str, answer: str) -> Interaction:
    return Interaction(
        RecordedRequest(
            "POST",
            "https://api.example.com/v1/chat",
            (("content-type", "application/json"),),
            Body.from_bytes(orjson.dumps({"q": question})),
        ),
        RecordedResponse(200, (), Body.from_bytes(orjson.dumps({"a": answer}))),
        "2025-01-01T00:00:00Z",
        "loopback",
    )


def _key(cassette: Cassette, question: str) -> Any:
    request = httpx.Request(
        "POST",
        "https://api.example.com/v1/chat",
        headers={"content-type": "application/json"},
        content=orjson.dumps({"q": question}),
    )
    return cassette.matcher.request_key(request)


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "c.json"
    interactions = (
        _interaction("one", "1st"),
        _interaction("two", "2nd"),
        _interaction("one", "1st again"),
    )
    write_cassette(path, CassetteFile(interactions), secrets={})
    return path


class TestModes:
    """Each record mode replays and records exactly as the table in the module says."""

    @pytest.mark.parametrize(
        ("mode", "exists", "replays", "records"),
        [
            ("none", True, True, False),
            ("none", False, True, False),
            ("once", True, True, False),
            ("once", False, False, True),
            ("new_episodes", True, True, True),
            ("all", True, False, True),
            ("rewrite", True, False, True),
        ],
    )
    def test_mode_table(
        self, recorded: Path, tmp_path: Path, mode: str, exists: bool, replays: bool, records: bool
    ) -> None:
        path = recorded if exists else tmp_path / "absent.json"
        cassette = Cassette.open(path, mode=mode)
        assert (cassette.replays, cassette.records) == (replays, records)
        # The mode itself is kept: messages name it, and rewrite differs from once.
        assert cassette.mode is RecordMode(mode)
        assert f"mode={mode} " in repr(cassette)


class TestRewriteKeepsTheOldCassetteUntilTheNewOneIsSaved:
    """Rewrite starts from nothing, but the old file stays until a new recording replaces it."""

    def test_the_old_file_is_not_read_and_stays_on_open(self, recorded: Path) -> None:
        before = recorded.read_bytes()
        cassette = Cassette.open(recorded, mode=RecordMode.REWRITE)
        assert cassette.interactions == ()
        assert recorded.read_bytes() == before

    def test_a_refused_recording_leaves_the_old_file(
        self, recorded: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        before = recorded.read_bytes()
        monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-leaky-0123456789")
        cassette = Cassette.open(recorded, mode=RecordMode.REWRITE)
        cassette.add(_interaction("one", "your key is sk-proj-leaky-0123456789"))
        with pytest.raises(RecordingRefused):
            cassette.save()
        assert recorded.read_bytes() == before

    def test_nothing_recorded_leaves_the_old_file(self, recorded: Path) -> None:
        before = recorded.read_bytes()
        assert Cassette.open(recorded, mode=RecordMode.REWRITE).save() is None
        assert recorded.read_bytes() == before

    def test_a_saved_recording_replaces_the_old_file(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode=RecordMode.REWRITE)
        cassette.add(_interaction("one", "new"))
        cassette.save()
        reopened = Cassette.open(recorded, mode=RecordMode.NONE)
        assert [i.response.body.value["a"] for i in reopened.interactions] == ["new"]


class TestPlay:
    """Lookups go through the index; repeats replay in order, then the last one repeats."""

    def test_repeated_requests_replay_in_order_then_repeat_the_last(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode="none")
        answers = [cassette.play(_key(cassette, "one")) for _ in range(3)]
        assert [a.response.body.value["a"] for a in answers if a] == [
            "1st",
            "1st again",
            "1st again",
        ]
        assert len(cassette.played) == 3

    def test_unknown_request_plays_nothing(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode="none")
        assert cassette.play(_key(cassette, "three")) is None
        assert cassette.played == []

    def test_the_given_matcher_indexes_the_recordings(self, recorded: Path) -> None:
        """With the question ignored, any question finds the first recording of the request."""
        matcher = Matcher(ignore_body_paths=["q"])
        cassette = Cassette.open(recorded, mode="none", matcher=matcher)
        assert cassette.matcher is matcher
        played = cassette.play(_key(cassette, "never asked"))
        assert played is not None
        assert played.response.body.value == {"a": "1st"}

    def test_prepared_values_are_built_once(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode="none")
        interaction = cassette.interactions[0]
        built: list[Interaction] = []

        def build(item: Interaction) -> int:
            built.append(item)
            return len(built)

        assert [cassette.prepared(interaction, build) for _ in range(3)] == [1, 1, 1]
        assert built == [interaction]


class TestSave:
    """Only a cassette that recorded something is written, with what each mode keeps."""

    def test_nothing_recorded_writes_nothing(self, tmp_path: Path) -> None:
        cassette = Cassette.open(tmp_path / "c.json", mode="once")
        assert cassette.save() is None
        assert not (tmp_path / "c.json").exists()

    def test_new_episodes_keeps_old_and_appends_new(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode="new_episodes", test_id="t::x")
        cassette.add(_interaction("three", "3rd"))
        assert cassette.save()
        reopened = Cassette.open(recorded, mode="none")
        assert len(reopened.interactions) == 4
        assert reopened.metadata == {"test": "t::x", "source": "loopback"}

    def test_all_replaces_the_recordings(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode="all")
        cassette.add(_interaction("one", "fresh"))
        cassette.save()
        reopened = Cassette.open(recorded, mode="none")
        assert [i.response.body.value["a"] for i in reopened.interactions] == ["fresh"]

    @pytest.mark.parametrize("mode", ["once", "rewrite"])
    def test_save_reports_its_size_and_duration(self, tmp_path: Path, mode: str) -> None:
        """The event names the cassette and the test, in rewrite mode too."""
        events: list[tuple[Any, ...]] = []
        telemetry.attach("t", [telemetry.TEST_CACHE_SAVE], lambda *e: events.append(e))
        try:
            cassette = Cassette.open(tmp_path / "c.json", mode=mode, test_id="t::x")
            cassette.add(_interaction("q", "a"))
            size = cassette.save()
        finally:
            telemetry.detach("t")
        assert size == (tmp_path / "c.json").stat().st_size
        [(_, measurements, metadata)] = events
        assert measurements.keys() == {"size_bytes", "duration_ns"}
        assert measurements["size_bytes"] == size
        assert type(measurements["duration_ns"]) is int
        assert measurements["duration_ns"] >= 0
        assert metadata == {"cassette": str(tmp_path / "c.json"), "test_id": "t::x"}

    def test_key_in_environment_refuses_the_save(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-leaky-value")
        errors: list[tuple[Any, ...]] = []
        telemetry.attach("t", [telemetry.TEST_CACHE_ERROR], lambda *e: errors.append(e))
        try:
            cassette = Cassette.open(tmp_path / "c.json", mode="once", test_id="t::x")
            cassette.add(_interaction("q", "echo sk-ant-leaky-value"))
            with pytest.raises(RecordingRefused, match="ANTHROPIC_API_KEY"):
                cassette.save()
        finally:
            telemetry.detach("t")
        assert not (tmp_path / "c.json").exists()
        [(_, measurements, metadata)] = errors
        assert measurements == {}
        assert metadata.keys() == {"cassette", "test_id", "error"}
        assert metadata["cassette"] == str(tmp_path / "c.json")
        assert metadata["test_id"] == "t::x"
        assert metadata["error"].startswith("RecordingRefused: ")
        assert "ANTHROPIC_API_KEY" in metadata["error"]
        assert "sk-ant-leaky-value" not in metadata["error"]


class TestCorrupt:
    """A corrupt cassette fails to open in every mode but rewrite, and is left as it was."""

    @pytest.mark.parametrize("mode", ["none", "once", "new_episodes", "all"])
    def test_corrupt_file_raises_and_is_kept(self, tmp_path: Path, mode: str) -> None:
        path = tmp_path / "c.json"
        path.write_text("{ half a cassette")
        with pytest.raises(RecordingCorrupt, match=str(path)):
            Cassette.open(path, mode=mode)
        assert path.read_text() == "{ half a cassette"

    def test_rewrite_replaces_a_corrupt_file(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        path.write_text("{ half a cassette")
        cassette = Cassette.open(path, mode="rewrite")
        cassette.add(_interaction("q", "a"))
        cassette.save()
        assert len(Cassette.open(path, mode="none").interactions) == 1


class TestExplainMiss:
    """The miss message names the cassette, the mode, and shows the closest request as a diff."""

    def test_message(self, recorded: Path) -> None:
        cassette = Cassette.open(recorded, mode="none", test_id="tests/t.py::test_x")
        message = cassette.explain_miss(_key(cassette, "twp"))
        assert str(recorded) in message
        assert "tests/t.py::test_x" in message
        assert "'none'" in message
        assert '-  "q": "two"' in message
        assert '+  "q": "twp"' in message
        assert "--record-mode=new_episodes" in message

    def test_missing_cassette_says_so(self, tmp_path: Path) -> None:
        cassette = Cassette.open(tmp_path / "c.json", mode="none")
        assert "does not exist yet" in cassette.explain_miss(_key(cassette, "q"))

    def test_each_situation_has_its_sentence(self, tmp_path: Path, recorded: Path) -> None:
        absent = Cassette.open(tmp_path / "absent.json", mode="none")
        lines = absent.explain_miss(_key(absent, "q")).splitlines()
        assert lines[0] == (
            "no recording matches POST https://api.example.com/v1/chat in cassette "
            f"{tmp_path / 'absent.json'}, record mode 'none'."
        )
        assert lines[1] == "The cassette does not exist yet."
        once = Cassette.open(recorded, mode="once")
        lines = once.explain_miss(_key(once, "twp")).splitlines()
        assert lines[1:3] == [
            "The cassette exists, and mode 'once' only records missing cassettes.",
            "The closest recorded request (- recorded, + this request):",
        ]

    def test_an_empty_cassette_says_it_holds_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.json"
        path.write_text('{"version": 1, "interactions": []}')
        cassette = Cassette.open(path, mode="none")
        lines = cassette.explain_miss(_key(cassette, "q")).splitlines()
        assert lines[1] == "The cassette holds no interactions."
