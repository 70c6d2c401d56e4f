"""Tests for exllm_py.testing.usage: the record of when each cassette was last used."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import orjson

from exllm_py.testing.usage import read_usage, record_usage, usage_path

EARLY = datetime(2025, 1, 1, tzinfo=UTC)
LATE = datetime(2025, 6, 1, tzinfo=UTC)


def _record(directory: str, index: int) -> None:
    record_usage(Path(directory), [Path(directory) / f"m/test_{index}.json"], LATE)


class TestRecordUsage:
    """Usage merges across runs, keeping the latest time per cassette."""

    def test_merge_keeps_the_latest(self, tmp_path: Path) -> None:
        record_usage(tmp_path, [tmp_path / "m/a.json", tmp_path / "m/b.json"], LATE)
        record_usage(tmp_path, [tmp_path / "m/a.json", tmp_path / "m/c.json"], EARLY)
        assert read_usage(tmp_path) == {"m/a.json": LATE, "m/b.json": LATE, "m/c.json": EARLY}

    def test_file_format(self, tmp_path: Path) -> None:
        record_usage(tmp_path, [tmp_path / "m/a.json"], LATE)
        document = orjson.loads(usage_path(tmp_path).read_bytes())
        assert document == {"version": 1, "cassettes": {"m/a.json": "2025-06-01T00:00:00Z"}}
        assert usage_path(tmp_path).name == ".exllm-usage.json"

    def test_damaged_file_reads_as_empty_and_is_rewritten(self, tmp_path: Path) -> None:
        usage_path(tmp_path).write_text("{ oops")
        assert read_usage(tmp_path) == {}
        record_usage(tmp_path, [tmp_path / "m/a.json"], LATE)
        assert read_usage(tmp_path) == {"m/a.json": LATE}

    def test_concurrent_processes_lose_no_entry(self, tmp_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_record, args=(str(tmp_path), i)) for i in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert all(worker.exitcode == 0 for worker in workers)
        assert sorted(read_usage(tmp_path)) == [f"m/test_{i}.json" for i in range(6)]
