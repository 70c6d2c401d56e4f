"""Tests for exllm_py.testing.migration: cassettes under their old names move to their new ones."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    write_cassette,
)
from exllm_py.testing.migration import adopt_legacy_cassette, legacy_cassette_path_for
from exllm_py.testing.paths import cassette_path_for


def _write(path: Path, test: str | None) -> None:
    interaction = Interaction(
        RecordedRequest("POST", "https://api.example.com/v1/chat"),
        RecordedResponse(200, (), Body.from_bytes(orjson.dumps({"a": test}))),
        "2025-01-01T00:00:00Z",
    )
    metadata = {} if test is None else {"test": test}
    write_cassette(path, CassetteFile((interaction,), metadata), secrets={})


class TestLegacyNames:
    """The earlier rule is kept exactly; names it hashed are unchanged by the current rule."""

    @pytest.mark.parametrize(
        ("nodeid", "legacy"),
        [
            ("tests/t.py::TestA::test_x", "tests.t/TestA.test_x.json"),
            ("tests/a.b/t.py::test_x", "tests.a.b.t/test_x.json"),
            ("t.py::test_x[x::y]", "t/test_x[x.y].json"),
            ("../shared/t.py::TestA::test_x", "__.shared.t/TestA.test_x.json"),
            ("tests\\t.py::TestA::test_x", "tests.t/TestA.test_x.json"),
            ("./t.py::TestA::test_x", "t/TestA.test_x.json"),
            ("tests/t.py", "tests.t/module.json"),  # a node id with no test part
        ],
    )
    def test_layout(self, tmp_path: Path, nodeid: str, legacy: str) -> None:
        assert legacy_cassette_path_for(tmp_path, nodeid) == tmp_path / legacy
        assert cassette_path_for(tmp_path, nodeid) != tmp_path / legacy

    def test_a_leading_dot_became_an_underscore_and_a_hash(self, tmp_path: Path) -> None:
        legacy = legacy_cassette_path_for(tmp_path, ".ci/t.py::TestA::test_x")
        folder = legacy.relative_to(tmp_path).parts[0]
        assert folder.startswith("_ci.t~")
        assert len(folder) == len("_ci.t~") + 8

    @pytest.mark.parametrize(
        "nodeid",
        [
            "t.py::TestA::test_x[a/b]",
            "t.py::test_x[" + "a" * 300,
            # A file name that is not UTF-8, as Linux hands it to Python.
            "t\udcff.py::test_x",
        ],
    )
    def test_hashed_names_keep_their_hash(self, tmp_path: Path, nodeid: str) -> None:
        assert cassette_path_for(tmp_path, nodeid) == legacy_cassette_path_for(tmp_path, nodeid)


class TestAdoption:
    """A test takes over the file under its old name, and only its own."""

    def test_the_file_moves_and_the_emptied_folder_goes(self, tmp_path: Path) -> None:
        nodeid = "tests/a.b/t.py::TestA::test_x"
        legacy = legacy_cassette_path_for(tmp_path, nodeid)
        _write(legacy, nodeid)
        content = legacy.read_bytes()
        path = adopt_legacy_cassette(tmp_path, nodeid)
        assert path == cassette_path_for(tmp_path, nodeid)
        assert path.read_bytes() == content
        assert not legacy.parent.exists()

    def test_without_metadata_the_name_decides(self, tmp_path: Path) -> None:
        nodeid = "tests/t.py::TestA::test_x"
        _write(legacy_cassette_path_for(tmp_path, nodeid), None)
        assert adopt_legacy_cassette(tmp_path, nodeid).exists()

    @pytest.mark.parametrize(
        "document",
        ['[{"test": "elsewhere"}]', '{"metadata": "elsewhere"}', '{"metadata": {"test": ""}}'],
        ids=["not-an-object", "metadata-not-an-object", "empty-test"],
    )
    def test_without_a_test_named_in_its_metadata_the_name_decides(
        self, tmp_path: Path, document: str
    ) -> None:
        nodeid = "tests/t.py::TestA::test_x"
        legacy = legacy_cassette_path_for(tmp_path, nodeid)
        legacy.parent.mkdir(parents=True)
        legacy.write_text(document)
        path = adopt_legacy_cassette(tmp_path, nodeid)
        assert path.read_text() == document
        assert not legacy.exists()

    def test_another_tests_file_is_left_alone(self, tmp_path: Path) -> None:
        # Under the old rule [x::y] and [x.y] shared a file; it holds [x.y]'s recording.
        shared = legacy_cassette_path_for(tmp_path, "t.py::test_x[x::y]")
        _write(shared, "t.py::test_x[x.y]")
        path = adopt_legacy_cassette(tmp_path, "t.py::test_x[x::y]")
        assert not path.exists()
        assert shared.exists()
        assert adopt_legacy_cassette(tmp_path, "t.py::test_x[x.y]") == shared

    def test_an_existing_new_file_wins(self, tmp_path: Path) -> None:
        nodeid = "tests/t.py::TestA::test_x"
        legacy = legacy_cassette_path_for(tmp_path, nodeid)
        _write(legacy, nodeid)
        _write(cassette_path_for(tmp_path, nodeid), nodeid)
        assert adopt_legacy_cassette(tmp_path, nodeid) == cassette_path_for(tmp_path, nodeid)
        assert legacy.exists()

    def test_an_unreadable_old_file_is_left_alone(self, tmp_path: Path) -> None:
        nodeid = "tests/t.py::TestA::test_x"
        legacy = legacy_cassette_path_for(tmp_path, nodeid)
        legacy.parent.mkdir(parents=True)
        legacy.write_text("{ half")
        assert not adopt_legacy_cassette(tmp_path, nodeid).exists()
        assert legacy.read_text() == "{ half"
