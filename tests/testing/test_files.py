"""Tests for exllm_py.testing.files: atomic replacement and the timestamp format."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from exllm_py.testing.files import parse_timestamp, utc_timestamp, write_atomically


class TestWriteAtomically:
    """The file is replaced whole, shared-readable, and nothing is left behind."""

    def test_creates_directories_and_a_shared_file(self, tmp_path: Path) -> None:
        path = tmp_path / "a" / "b" / "c.json"
        write_atomically(path, b"{}\n")
        assert path.read_bytes() == b"{}\n"
        assert path.stat().st_mode & 0o777 == 0o644
        assert os.listdir(path.parent) == ["c.json"]

    def test_replaces_an_existing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        path.write_bytes(b"old")
        write_atomically(path, b"new")
        assert path.read_bytes() == b"new"

    def test_failure_keeps_the_old_file_and_removes_the_temporary(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / ".exllm-usage.json"
        path.write_bytes(b"old")
        seen: list[Path] = []

        def failing_replace(source: str, target: object) -> None:
            seen.append(Path(source))
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(OSError, match="disk full"):
            write_atomically(path, b"new")
        assert path.read_bytes() == b"old"
        assert os.listdir(tmp_path) == [".exllm-usage.json"]
        [temporary] = seen
        # Beside the file: a rename across file systems would not be atomic.
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(".exllm-usage.json.")
        assert temporary.name.endswith(".tmp")


class TestTimestamps:
    """Times are written in UTC to the second, and read back from any ISO 8601 form."""

    def test_format(self) -> None:
        moment = datetime(2025, 1, 31, 12, 0, 0, 999_999, tzinfo=UTC)
        assert utc_timestamp(moment) == "2025-01-31T12:00:00Z"

    def test_other_zones_are_converted(self) -> None:
        paris = timezone(timedelta(hours=1))
        assert utc_timestamp(datetime(2025, 1, 31, 13, 0, tzinfo=paris)) == "2025-01-31T12:00:00Z"

    def test_now_by_default(self) -> None:
        before = datetime.now(UTC).replace(microsecond=0)
        assert before <= parse_timestamp(utc_timestamp()) <= datetime.now(UTC)

    @pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset")
    def test_now_is_utc_whatever_the_local_zone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Five and a half hours east of UTC, now is still written in UTC."""
        monkeypatch.setenv("TZ", "IST-5:30")
        time.tzset()
        try:
            before = datetime.now(UTC).replace(microsecond=0)
            stamped = parse_timestamp(utc_timestamp())
            after = datetime.now(UTC)
        finally:
            monkeypatch.undo()
            time.tzset()
        assert before <= stamped <= after

    def test_round_trip(self) -> None:
        moment = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        assert parse_timestamp(utc_timestamp(moment)) == moment

    @pytest.mark.parametrize(
        "text", ["2025-01-31T13:00:00+01:00", "2025-01-31T12:00:00", "2025-01-31T12:00:00.000Z"]
    )
    def test_other_iso_forms_are_read_as_utc(self, text: str) -> None:
        parsed = parse_timestamp(text)
        assert parsed == datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        assert parsed.tzinfo is UTC

    @pytest.mark.parametrize("text", ["yesterday", "", 1738324800])
    def test_anything_else_is_a_value_error(self, text: object) -> None:
        with pytest.raises(ValueError, match=r"(?i)iso"):
            parse_timestamp(text)  # type: ignore[arg-type]  # what a damaged file may hold
