"""Tests for exllm_py.cli.removal: what ``clean`` and ``clear`` remove, and what they never do."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exllm_py.cli.removal import GRACE, Removal, remove_cassettes

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def _file(path: Path, *, age: timedelta = timedelta(days=1)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", encoding="utf-8")
    moment = (NOW - age).timestamp()
    os.utime(path, (moment, moment))
    return path


@pytest.fixture
def cassette_dir(tmp_path: Path) -> Path:
    return tmp_path / "cassettes"


class TestRemoveCassettes:
    """The given files go, then stale leftovers, then the directories left empty."""

    def test_files_leftovers_and_emptied_dirs_go(self, cassette_dir: Path) -> None:
        first = _file(cassette_dir / "tests.test_a" / "test_a.json")
        second = _file(cassette_dir / "tests.test_b" / "test_b.json")
        kept = _file(cassette_dir / "tests.test_b" / "test_c.json")
        leftover = _file(cassette_dir / "tests.test_a" / ".test_a.json.k3j2.tmp")
        removal = remove_cassettes([first, second], cassette_dir, NOW)
        assert removal == Removal((first, second), (leftover,), ())
        assert not first.parent.exists()
        assert kept.exists()
        assert cassette_dir.is_dir()

    def test_a_temporary_younger_than_the_grace_period_stays(self, cassette_dir: Path) -> None:
        fresh = _file(cassette_dir / ".usage.json.a1.tmp", age=GRACE - timedelta(seconds=1))
        stale = _file(cassette_dir / ".usage.json.b2.tmp", age=GRACE + timedelta(seconds=1))
        removal = remove_cassettes([], cassette_dir, NOW)
        assert removal.leftovers == (stale,)
        assert fresh.exists()

    def test_a_dry_run_touches_nothing_and_lists_everything(self, cassette_dir: Path) -> None:
        cassette = _file(cassette_dir / "tests.test_a" / "test_a.json")
        leftover = _file(cassette_dir / "tests.test_a" / ".test_a.json.k3j2.tmp")
        removal = remove_cassettes([cassette], cassette_dir, NOW, dry_run=True)
        assert removal == Removal((cassette,), (leftover,), ())
        assert cassette.exists()
        assert leftover.exists()

    def test_a_file_outside_the_cassette_dir_is_left_alone(
        self, cassette_dir: Path, tmp_path: Path
    ) -> None:
        outside = _file(tmp_path / "elsewhere" / "test_a.json")
        inside = _file(cassette_dir / "tests.test_a" / "test_a.json")
        removal = remove_cassettes([outside, inside], cassette_dir, NOW)
        assert removal.removed == (inside,)
        assert removal.failures == (
            f"{outside} is not inside the cassette dir {cassette_dir}; left alone",
        )
        assert outside.exists()

    def test_a_file_that_cannot_be_removed_is_a_failure_and_the_rest_still_go(
        self, cassette_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        stuck = _file(cassette_dir / "tests.test_a" / "test_a.json")
        other = _file(cassette_dir / "tests.test_b" / "test_b.json")
        unlink = Path.unlink

        def refuse(self: Path, missing_ok: bool = False) -> None:
            if self == stuck:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            unlink(self, missing_ok)

        monkeypatch.setattr(Path, "unlink", refuse)
        removal = remove_cassettes([stuck, other], cassette_dir, NOW)
        assert removal.removed == (other,)
        assert removal.failures == (f"could not remove {stuck}: Permission denied",)
        assert stuck.exists()
        assert not other.parent.exists()

    def test_a_file_already_gone_counts_as_removed(self, cassette_dir: Path) -> None:
        cassette_dir.mkdir()
        gone = cassette_dir / "tests.test_a" / "test_a.json"
        assert remove_cassettes([gone], cassette_dir, NOW) == Removal((gone,), (), ())

    def test_a_missing_cassette_dir_has_no_leftovers(self, cassette_dir: Path) -> None:
        assert remove_cassettes([], cassette_dir, NOW) == Removal((), (), ())
