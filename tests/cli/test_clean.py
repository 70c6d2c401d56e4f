"""Tests for ``exllm-cache clean``: it removes exactly what matches all filters, nothing else."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import CassetteDir, Result, days_ago, interaction

ANTHROPIC = "https://api.anthropic.com/v1/messages"


def _age(path: Path, days: float) -> None:
    moment = days_ago(days).timestamp()
    os.utime(path, (moment, moment))


class TestCleanUnused:
    """--unused removes cassettes no run has played for AGE; partial runs keep the rest fresh."""

    def test_only_cassettes_unplayed_for_age_go(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        a = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(90)))
        b = cassettes.add("tests/test_a.py::test_b", interaction(recorded=days_ago(90)))
        c = cassettes.add("tests/test_c.py::test_c", interaction(recorded=days_ago(90)))
        cassettes.played([a, b, c], days_ago(60))  # a full run, two months ago
        cassettes.played([a], days_ago(20))  # pytest -k test_a
        cassettes.played([c], days_ago(2))  # pytest tests/test_c.py
        result = cli("clean", "--unused", "30d")
        assert result.code == 0
        assert not b.exists()
        assert a.exists()
        assert c.exists()
        assert result.out.splitlines() == ["removed tests.test_a/test_b.json (last used 60d ago)"]

    def test_a_cassette_never_played_but_recorded_recently_stays(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        played = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(90)))
        fresh = cassettes.add("tests/test_a.py::test_new", interaction(recorded=days_ago(1)))
        cassettes.played([played], days_ago(1))
        assert cli("clean", "--unused", "7d").code == 0
        assert fresh.exists()
        assert played.exists()

    def test_without_a_usage_file_it_refuses(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        old = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(90)))
        result = cli("clean", "--unused", "30d")
        assert result.code == 1
        assert "needs the usage file" in result.err
        assert old.exists()


class TestCleanOlderThan:
    """--older-than removes cassettes whose newest recording is older than AGE."""

    def test_newest_recording_decides(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        stale = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(100)))
        extended = cassettes.add(
            "tests/test_a.py::test_b",
            interaction(recorded=days_ago(100)),
            interaction(recorded=days_ago(3), message="new episode"),
        )
        result = cli("clean", "--older-than", "90d")
        assert result.code == 0
        assert not stale.exists()
        assert extended.exists()
        assert "removed tests.test_a/test_a.json (recorded 100d ago)" in result.out


class TestCleanCombined:
    """Filters combine: a cassette is removed only when it matches every one."""

    def test_old_and_unused(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        old_unused = cassettes.add("tests/test_a.py::test_1", interaction(recorded=days_ago(100)))
        old_used = cassettes.add("tests/test_a.py::test_2", interaction(recorded=days_ago(100)))
        new_unused = cassettes.add("tests/test_a.py::test_3", interaction(recorded=days_ago(40)))
        cassettes.played([old_unused, new_unused], days_ago(40))
        cassettes.played([old_used], days_ago(1))
        result = cli("clean", "--older-than", "90d", "--unused", "30d")
        assert result.code == 0
        assert not old_unused.exists()
        assert old_used.exists()
        assert new_unused.exists()
        assert result.out.splitlines() == [
            "removed tests.test_a/test_1.json (recorded 100d ago; last used 40d ago)"
        ]


class TestDryRun:
    """--dry-run says what would go and leaves every file in place."""

    def test_nothing_is_removed(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(100)))
        leftover = cassettes.path / "tests.test_a" / ".test_a.json.x1y2.tmp"
        leftover.write_text("{", encoding="utf-8")
        _age(leftover, 1)
        before = cassettes.files()
        result = cli("clean", "--older-than", "90d", "--dry-run")
        assert result.code == 0
        assert cassettes.files() == before
        assert result.out.splitlines() == [
            "would remove tests.test_a/test_a.json (recorded 100d ago)",
            "would remove tests.test_a/.test_a.json.x1y2.tmp (temporary file left by an "
            "interrupted write)",
        ]
        assert "dry run: nothing was removed" in result.err


class TestCleanSafety:
    """Clean touches only cassettes and stale temporaries inside the cassette dir."""

    def test_leftover_temporaries_go_but_fresh_ones_stay(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        keep = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(1)))
        stale = keep.parent / ".test_a.json.abc123.tmp"
        usage_tmp = cassettes.path / ".exllm-usage.json.zz9.tmp"
        in_progress = keep.parent / ".test_a.json.now999.tmp"
        for path in (stale, usage_tmp, in_progress):
            path.write_text("{", encoding="utf-8")
        _age(stale, 1)
        _age(usage_tmp, 1)
        result = cli("clean", "--older-than", "90d")
        assert result.code == 0
        assert not stale.exists()
        assert not usage_tmp.exists()
        assert in_progress.exists()  # may belong to a test run writing right now
        assert keep.exists()

    def test_emptied_module_dirs_are_removed_and_the_dir_stays(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        gone = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(100)))
        assert cli("clean", "--older-than", "90d").code == 0
        assert not gone.parent.exists()
        assert cassettes.path.is_dir()

    def test_json_that_is_not_a_cassette_is_never_removed(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        keep = cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(1)))
        cassettes.played([keep], days_ago(1))
        other = cassettes.path / "tests.test_a" / "settings.json"
        other.write_text('{"theme": "dark"}', encoding="utf-8")
        _age(other, 400)
        result = cli("clean", "--unused", "30d")
        assert result.code == 0
        assert other.exists()
        assert "kept tests.test_a/settings.json: it is not a cassette" in result.err

    def test_a_symlinked_cassette_loses_its_link_never_its_target(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        elsewhere = CassetteDir(tmp_path / "elsewhere")
        target = elsewhere.add("tests/test_a.py::test_a", interaction(recorded=days_ago(100)))
        link = cassettes.path / "tests.test_a" / "test_a.json"
        link.parent.mkdir(parents=True)
        link.symlink_to(target)
        result = cli("clean", "--older-than", "90d")
        assert result.code == 0
        assert not link.is_symlink()
        assert target.exists()

    def test_nothing_to_remove(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        cassettes.add("tests/test_a.py::test_a", interaction(recorded=days_ago(1)))
        result = cli("clean", "--older-than", "30d")
        assert result.code == 0
        assert result.out == ""
        assert "nothing to remove" in result.err
