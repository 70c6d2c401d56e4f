"""Tests for exllm_py.testing.paths: one cassette per test, at a predictable place."""

from __future__ import annotations

from pathlib import Path

import pytest

from exllm_py.testing.paths import cassette_path_for, iter_cassettes, nodeid_for

ROOT = Path("/repo/cassettes")


class TestCassettePathFor:
    """Cassettes live at <dir>/<dotted test module>/<test name>.json."""

    @pytest.mark.parametrize(
        ("nodeid", "expected"),
        [
            ("tests/test_a.py::test_x", "tests.test_a/test_x.json"),
            ("tests/live/test_b.py::TestB::test_y", "tests.live.test_b/TestB.test_y.json"),
            ("test_c.py::TestC::TestD::test_z", "test_c/TestC.TestD.test_z.json"),
            ("tests/test_a.py::test_x[gpt-4o-mini]", "tests.test_a/test_x[gpt-4o-mini].json"),
        ],
    )
    def test_layout(self, nodeid: str, expected: str) -> None:
        assert cassette_path_for(ROOT, nodeid) == ROOT / expected

    def test_unsafe_ids_are_made_safe_and_kept_apart(self) -> None:
        slash = cassette_path_for(ROOT, "t.py::test_x[a/b]")
        colon = cassette_path_for(ROOT, "t.py::test_x[a:b]")
        assert slash != colon
        for path in (slash, colon):
            assert path.parent == ROOT / "t"
            assert path.name.startswith("test_x[a_b]~")
            assert not set(path.name) & set('<>:"/\\|?*')

    def test_very_long_ids_are_shortened(self) -> None:
        path = cassette_path_for(ROOT, "t.py::test_x[" + "a" * 400 + "]")
        assert len(path.name) < 255


class TestNodeidFor:
    """The inverse mapping is exact for ordinary names and refuses lossy ones."""

    @pytest.mark.parametrize(
        "nodeid",
        [
            "tests/test_a.py::test_x",
            "tests/live/test_b.py::TestB::test_y",
            "tests/test_a.py::test_x[gpt-4o-mini-1.5]",
        ],
    )
    def test_round_trip(self, nodeid: str) -> None:
        assert nodeid_for(ROOT, cassette_path_for(ROOT, nodeid)) == nodeid

    def test_made_safe_names_have_no_inverse(self) -> None:
        assert nodeid_for(ROOT, cassette_path_for(ROOT, "t.py::test_x[a/b]")) is None


class TestIterCassettes:
    """Listing skips the usage file, locks and temporaries."""

    def test_hidden_files_are_skipped(self, tmp_path: Path) -> None:
        for name in ("m/a.json", "m/b.json", ".exllm-usage.json", "m/.a.json.x.tmp", "m/.c.json"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("{}")
        assert [p.relative_to(tmp_path).as_posix() for p in iter_cassettes(tmp_path)] == [
            "m/a.json",
            "m/b.json",
        ]

    def test_missing_directory_lists_nothing(self, tmp_path: Path) -> None:
        assert list(iter_cassettes(tmp_path / "absent")) == []
