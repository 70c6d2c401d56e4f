"""Temporary files that interrupted writes left in the cassette dir.

Cassettes and the usage file are written to a temporary file beside their
target and then renamed over it; a process killed in between leaves the
temporary behind: a hidden name ending in ``.tmp`` (``.test_x.json.k3j2.tmp``).
A write takes milliseconds, so one older than :data:`GRACE` is a leftover;
younger ones may belong to a test run in progress and are left alone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["GRACE", "find_leftovers"]

GRACE = timedelta(minutes=5)


def find_leftovers(cassette_dir: Path, now: datetime) -> list[Path]:
    """The leftover temporary files under ``cassette_dir``, sorted."""
    if not cassette_dir.is_dir():
        return []
    found = []
    for directory, _, files in os.walk(cassette_dir):
        for name in files:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            path = Path(directory, name)
            try:
                modified = datetime.fromtimestamp(path.lstat().st_mtime, UTC)
            except OSError:
                continue  # renamed into place, or removed, since the walk saw it
            if now - modified > GRACE:
                found.append(path)
    return sorted(found)
