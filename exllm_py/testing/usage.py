"""The usage file: when each cassette was last used by a test run.

``exllm-cache clean --unused AGE`` needs to know which cassettes the suite
still plays. At the end of each pytest process the plugin merges the
cassettes its ``live_api`` tests used (replayed or recorded) into
``<cassette dir>/.exllm-usage.json``::

    {
      "version": 1,
      "cassettes": {
        "tests.live.test_openai_live/TestOpenAI.test_chat.json": "2025-01-31T12:00:00Z"
      }
    }

Keys are cassette paths relative to the cassette directory, with ``/``
separators; values are UTC timestamps of the last use. Merges keep the
later time per cassette, so the file accumulates across runs. Several
processes (``pytest -n auto`` workers, or two runs at once) may merge at
the same moment: each holds an exclusive lock on
``.exllm-usage.lock.json`` while it reads, merges and atomically replaces
the file. Both names start with a dot, so cassette listings skip them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import orjson

from exllm_py.testing.files import parse_timestamp, utc_timestamp, write_atomically

__all__ = ["LOCK_FILE", "USAGE_FILE", "read_usage", "record_usage", "usage_path"]

USAGE_FILE = ".exllm-usage.json"
LOCK_FILE = ".exllm-usage.lock.json"
_VERSION = 1


def usage_path(cassette_dir: Path) -> Path:
    """Where the usage file of ``cassette_dir`` lives."""
    return cassette_dir / USAGE_FILE


def read_usage(cassette_dir: Path) -> dict[str, datetime]:
    """Cassette (relative posix path) → last use, in UTC; empty when there is no usable file.

    A damaged usage file reads as empty rather than failing: it is a cache of
    facts the next test run re-creates, never the only copy of anything.
    """
    try:
        document = orjson.loads(usage_path(cassette_dir).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    entries = document.get("cassettes") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        return {}
    usage: dict[str, datetime] = {}
    for name, stamp in entries.items():
        with contextlib.suppress(ValueError):
            usage[name] = parse_timestamp(stamp)
    return usage


def record_usage(
    cassette_dir: Path, cassettes: Iterable[Path], when: datetime | None = None
) -> None:
    """Merge ``cassettes`` (paths under ``cassette_dir``), used at ``when`` (now), into the file."""
    when = datetime.now(UTC) if when is None else when.astimezone(UTC)
    used = {_relative(cassette_dir, path): when for path in cassettes}
    if not used:
        return
    cassette_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(cassette_dir / LOCK_FILE):
        merged = read_usage(cassette_dir)
        for name, stamp in used.items():
            merged[name] = max(stamp, merged.get(name, stamp))
        _write(cassette_dir, merged)


def _relative(cassette_dir: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(cassette_dir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _write(cassette_dir: Path, usage: Mapping[str, datetime]) -> None:
    document = {
        "version": _VERSION,
        "cassettes": {name: utc_timestamp(usage[name]) for name in sorted(usage)},
    }
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    write_atomically(usage_path(cassette_dir), data)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive OS lock on ``lock_path``; released even if the process dies."""
    with open(lock_path, "a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            # LK_LOCK retries for about ten seconds before giving up.
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
