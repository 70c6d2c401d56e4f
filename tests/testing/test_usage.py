"""Tests for exllm_py.testing.usage: the log of when each cassette was last used."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import orjson

from exllm_py.testing.staleness import CassettePlays, CassetteUse
from exllm_py.testing.usage import (
    LEGACY_LOCK_FILE,
    LEGACY_USAGE_FILE,
    UsageLog,
    state_dir_for,
)

EARLY = datetime(2025, 1, 1, tzinfo=UTC)
LATE = datetime(2025, 6, 1, tzinfo=UTC)


def _log(root: Path, cassettes: str = "cassettes") -> UsageLog:
    return UsageLog(state_dir_for(root), root / cassettes, root)


def _record(root: str, index: int) -> None:
    log = _log(Path(root))
    log.record([log.cassette_dir / f"m/test_{index}.json"], LATE)


class TestRecordUsage:
    """Usage merges across runs, keeping the latest time per cassette."""

    def test_merge_keeps_the_latest(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.record([log.cassette_dir / "m/a.json", log.cassette_dir / "m/b.json"], LATE)
        log.record([log.cassette_dir / "m/a.json", log.cassette_dir / "m/c.json"], EARLY)
        assert log.read() == {"m/a.json": LATE, "m/b.json": LATE, "m/c.json": EARLY}

    def test_any_iterable_of_cassettes_is_recorded(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.record((log.cassette_dir / f"m/{name}.json" for name in "ab"), LATE)
        assert log.read() == {"m/a.json": LATE, "m/b.json": LATE}

    def test_file_format(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.record([log.cassette_dir / "m/a.json"], LATE)
        document = orjson.loads(log.path.read_bytes())
        assert document == {
            "version": 2,
            "cassette_dirs": {"cassettes": {"m/a.json": "2025-06-01T00:00:00Z"}},
        }

    def test_each_cassette_dir_has_its_own_section(self, tmp_path: Path) -> None:
        one, other = _log(tmp_path), _log(tmp_path, "elsewhere")
        one.record([one.cassette_dir / "m/a.json"], LATE)
        other.record([other.cassette_dir / "m/b.json"], EARLY)
        assert (one.read(), other.read()) == ({"m/a.json": LATE}, {"m/b.json": EARLY})

    def test_damaged_file_reads_as_empty_and_is_rewritten(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.path.parent.mkdir(parents=True)
        log.path.write_text("{ oops")
        assert log.read() == {}
        log.record([log.cassette_dir / "m/a.json"], LATE)
        assert log.read() == {"m/a.json": LATE}

    def test_concurrent_processes_lose_no_entry(self, tmp_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_record, args=(str(tmp_path), i)) for i in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert all(worker.exitcode == 0 for worker in workers)
        assert sorted(_log(tmp_path).read()) == [f"m/test_{i}.json" for i in range(6)]


class TestPerMachineStateStaysOutOfTheCassetteDir:
    """The log and its lock live in pytest's cache dir; every .json there is valid JSON."""

    def test_nothing_is_written_among_the_cassettes(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.cassette_dir.mkdir()
        log.record([log.cassette_dir / "m/a.json"], LATE)
        assert list(log.cassette_dir.iterdir()) == []
        assert log.path.is_relative_to(tmp_path / ".pytest_cache" / "d")

    def test_every_json_file_it_leaves_parses(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.record([log.cassette_dir / "m/a.json"], LATE)
        for path in tmp_path.rglob("*.json"):
            orjson.loads(path.read_bytes())

    def test_a_cache_dir_it_creates_is_ignored_by_version_control(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.record([log.cassette_dir / "m/a.json"], LATE)
        ignore = (tmp_path / ".pytest_cache" / ".gitignore").read_text()
        assert "*" in ignore.splitlines()

    def test_the_cache_dir_option_moves_it(self, tmp_path: Path) -> None:
        assert state_dir_for(tmp_path, "build/cache") == tmp_path / "build/cache/d/exllm"


class TestExists:
    """A cassette dir has usage once a run recorded some, and not before."""

    def test_nothing_recorded_is_no_usage(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        assert log.exists() is False
        log.record([log.cassette_dir / "m/a.json"], LATE)
        assert log.exists() is True
        assert _log(tmp_path, "other-cassettes").exists() is False


class TestEarlierUsageFile:
    """A usage file an earlier version left among the cassettes is read, then taken over."""

    def test_it_is_read_and_then_removed_with_its_lock(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        log.cassette_dir.mkdir()
        legacy = {"version": 1, "cassettes": {"m/old.json": "2025-01-01T00:00:00Z"}}
        log.legacy_path.write_bytes(orjson.dumps(legacy))
        (log.cassette_dir / LEGACY_LOCK_FILE).write_bytes(b"")
        assert log.exists()
        assert log.read() == {"m/old.json": EARLY}
        log.record([log.cassette_dir / "m/new.json"], LATE)
        assert log.read() == {"m/old.json": EARLY, "m/new.json": LATE}
        assert sorted(p.name for p in log.cassette_dir.iterdir()) == []
        assert LEGACY_USAGE_FILE == ".exllm-usage.json"


class TestPlays:
    """Each record merges its tests' plays into the log, per cassette dir, at second resolution."""

    def test_a_failing_run_adds_its_plays_to_the_last_complete_use(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        cassette = log.cassette_dir / "m/t.json"
        passed = CassetteUse(frozenset({"a", "b"}), frozenset({"a"}), complete=True)
        log.record([cassette], EARLY.replace(microsecond=500_000), {cassette: passed})
        failed = CassetteUse(frozenset(), frozenset({"b"}), complete=False)
        log.record([cassette], LATE, {cassette: failed})
        assert log.plays() == {
            "m/t.json": CassettePlays(EARLY, frozenset({"a", "b"}), frozenset({"a", "b"}))
        }

    def test_file_format(self, tmp_path: Path) -> None:
        log = _log(tmp_path)
        cassette = log.cassette_dir / "m/t.json"
        use = CassetteUse(frozenset({"b", "a"}), frozenset({"a"}), complete=True)
        log.record([cassette], LATE, {cassette: use})
        assert orjson.loads(log.path.read_bytes())["plays"] == {
            "cassettes": {
                "m/t.json": {
                    "complete": "2025-06-01T00:00:00Z",
                    "held": ["a", "b"],
                    "played": ["a"],
                }
            }
        }

    def test_each_cassette_dir_keeps_its_own_plays(self, tmp_path: Path) -> None:
        one, other = _log(tmp_path), _log(tmp_path, "elsewhere")
        for log, ids in ((one, {"a"}), (other, {"b"})):
            cassette = log.cassette_dir / "m/t.json"
            log.record(
                [cassette], LATE, {cassette: CassetteUse(frozenset(ids), frozenset(ids), True)}
            )
        assert one.plays()["m/t.json"].held == {"a"}
        assert other.plays()["m/t.json"].held == {"b"}
