"""The usage log: when each cassette was last used by a test run, kept with pytest's cache.

``exllm-cache clean --unused AGE`` needs to know which cassettes the suite
still plays. At the end of each pytest process the plugin merges the
cassettes its ``live_api`` tests used (replayed or recorded) into
``usage.json`` in the state directory, ``<pytest cache dir>/d/exllm``
(``.pytest_cache/d/exllm`` unless the ``cache_dir`` ini option moves it)::

    {
      "version": 2,
      "cassette_dirs": {
        "cassettes": {
          "tests.live.test_openai_live/test_chat.json": "2025-01-31T12:00:00Z"
        }
      },
      "plays": {
        "cassettes": {
          "tests.live.test_openai_live/test_chat.json": {
            "complete": "2025-01-31T12:00:00Z", "held": ["9f0c…"], "played": ["9f0c…"]
          }
        }
      }
    }

This is one machine's state, not the project's: it lives where pytest keeps
its own (which pytest marks ignored for version control), never in the
cassette dir, which holds only cassettes. Each cassette dir has its own
section, named by its path relative to the rootdir (absolute when outside
it); keys are cassette paths relative to that dir, values UTC timestamps of
the last use. Merges keep the later time per cassette, so the log
accumulates across runs. ``plays`` holds, per cassette, what finding stale
interactions needs (:mod:`exllm_py.testing.staleness`); a reader that
predates it ignores it, and losing it only means nothing is called stale
until the test next passes. Several processes (``pytest -n auto`` workers, or
two runs at once) may merge at the same moment: each holds an exclusive
lock on ``usage.lock`` (empty, and not JSON) while it reads, merges and
atomically replaces the file.

Earlier versions kept ``.exllm-usage.json`` and ``.exllm-usage.lock.json``
in the cassette dir. Their times are still read, and the next merge takes
them over and removes both files.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from exllm_py.testing.files import parse_timestamp, utc_timestamp, write_atomically
from exllm_py.testing.staleness import CassettePlays, CassetteUse

__all__ = [
    "LEGACY_LOCK_FILE",
    "LEGACY_USAGE_FILE",
    "UsageLog",
    "state_dir_for",
]

#: Where earlier versions kept usage, in the cassette dir.
LEGACY_USAGE_FILE = ".exllm-usage.json"
LEGACY_LOCK_FILE = ".exllm-usage.lock.json"
_USAGE_FILE = "usage.json"
_LOCK_FILE = "usage.lock"
_VERSION = 2
_LEGACY_VERSION = 1
# What pytest writes into a cache dir it creates, so that version control skips it.
_IGNORE_ALL = "# Created by exllm_py: pytest's cache dir, per-machine state.\n*\n"


def state_dir_for(root: Path, cache_dir: str | None = None) -> Path:
    """The state directory under pytest's cache dir (the ``cache_dir`` ini value, if set).

    Resolved as pytest resolves ``cache_dir``: environment variables and
    ``~`` expanded, relative to the rootdir.
    """
    value = os.path.expanduser(os.path.expandvars(cache_dir or ".pytest_cache"))
    return root / value / "d" / "exllm"


@attrs.frozen
class UsageLog:
    """The usage of the cassettes in ``cassette_dir``, kept in ``state_dir``."""

    state_dir: Path
    cassette_dir: Path
    #: The rootdir, which the cassette dir's section is named relative to.
    root: Path

    @property
    def path(self) -> Path:
        """The usage file."""
        return self.state_dir / _USAGE_FILE

    @property
    def legacy_path(self) -> Path:
        """Where earlier versions kept this cassette dir's usage."""
        return self.cassette_dir / LEGACY_USAGE_FILE

    def exists(self) -> bool:
        """Whether any test run has left usage for this cassette dir (in either place)."""
        return self._section() is not None or self.legacy_path.is_file()

    def read(self) -> dict[str, datetime]:
        """Cassette (relative posix path) → last use, in UTC; empty when nothing is usable.

        A damaged file reads as empty rather than failing: it is a cache of
        facts the next test run re-creates, never the only copy of anything.
        """
        merged = _times(_legacy_entries(self.legacy_path))
        for name, stamp in _times(self._section() or {}).items():
            merged[name] = max(stamp, merged.get(name, stamp))
        return merged

    def plays(self) -> dict[str, CassettePlays]:
        """Cassette (relative posix path) → its plays, for finding stale interactions."""
        return self._plays_in(_load(self.path))

    def record(
        self,
        cassettes: Iterable[Path],
        when: datetime | None = None,
        uses: Mapping[Path, CassetteUse] | None = None,
    ) -> None:
        """Merge ``cassettes`` (paths in the cassette dir), used at ``when`` (now), into the log.

        ``uses`` says what each test did with its cassette, for the plays.
        """
        when = datetime.now(UTC) if when is None else when.astimezone(UTC)
        cassettes, uses = list(cassettes), uses or {}
        # Each path resolved once, against the directory resolved once.
        directory = self.cassette_dir.resolve()
        names = {path: _relative(directory, path) for path in (*cassettes, *uses)}
        used = {names[path]: when for path in cassettes}
        if not used:
            return
        # A second is the log's resolution: a use is complete as of the second it ended.
        when = when.replace(microsecond=0)
        _make_state_dir(self.state_dir)
        with _exclusive(self.state_dir / _LOCK_FILE):
            merged = self.read()
            for name, stamp in used.items():
                merged[name] = max(stamp, merged.get(name, stamp))
            document = _load(self.path)
            sections = _sections(document, "cassette_dirs")
            sections[self._section_name()] = {
                name: utc_timestamp(merged[name]) for name in sorted(merged)
            }
            plays = _sections(document, "plays")
            plays[self._section_name()] = self._merged_plays(document, uses, names, when)
            data: dict[str, Any] = {"version": _VERSION, "cassette_dirs": sections}
            if any(plays.values()):
                data["plays"] = {name: value for name, value in plays.items() if value}
            write_atomically(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
            # Taken over: the cassette dir holds only cassettes from now on.
            self.legacy_path.unlink(missing_ok=True)
            (self.cassette_dir / LEGACY_LOCK_FILE).unlink(missing_ok=True)

    def _plays_in(self, document: dict[str, Any]) -> dict[str, CassettePlays]:
        section = _sections(document, "plays").get(self._section_name())
        if not isinstance(section, dict):
            return {}
        return {name: CassettePlays.from_json(value) for name, value in section.items()}

    def _merged_plays(
        self,
        document: dict[str, Any],
        uses: Mapping[Path, CassetteUse],
        names: Mapping[Path, str],
        when: datetime,
    ) -> dict[str, Any]:
        plays = self._plays_in(document)
        for path, use in uses.items():
            name = names[path]
            plays[name] = plays.get(name, CassettePlays()).after(use, when)
        return {name: plays[name].to_json() for name in sorted(plays)}

    def _section_name(self) -> str:
        directory = self.cassette_dir.resolve()
        root = self.root.resolve()
        if directory.is_relative_to(root):
            return directory.relative_to(root).as_posix()
        return directory.as_posix()

    def _section(self) -> dict[str, Any] | None:
        section = _sections(_load(self.path), "cassette_dirs").get(self._section_name())
        return section if isinstance(section, dict) else None


def _load(path: Path) -> dict[str, Any]:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def _sections(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of the current version's per-cassette-dir mapping ``name``; empty when unreadable."""
    sections = document.get(name) if document.get("version") == _VERSION else None
    return dict(sections) if isinstance(sections, dict) else {}


def _legacy_entries(path: Path) -> Mapping[str, Any]:
    document = _load(path)
    entries = document.get("cassettes") if document.get("version") == _LEGACY_VERSION else None
    return entries if isinstance(entries, dict) else {}


def _times(entries: Mapping[str, Any]) -> dict[str, datetime]:
    usage: dict[str, datetime] = {}
    for name, stamp in entries.items():
        with contextlib.suppress(ValueError):
            usage[name] = parse_timestamp(stamp)
    return usage


def _relative(resolved_dir: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(resolved_dir).as_posix()
    except ValueError:
        return path.as_posix()


def _make_state_dir(state_dir: Path) -> None:
    # pytest marks a cache dir it creates as ignored; one created here (a run
    # with the cacheprovider plugin disabled) is marked the same way.
    cache_dir = state_dir.parent.parent
    if not cache_dir.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with (
            contextlib.suppress(FileExistsError),
            open(cache_dir / ".gitignore", "x", encoding="utf-8") as ignore,
        ):
            ignore.write(_IGNORE_ALL)
    state_dir.mkdir(parents=True, exist_ok=True)


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
