"""Removing things, safely: asking first, and touching nothing outside the cassette dir.

``clean`` and ``clear`` both go through :func:`remove_cassettes`: it unlinks
the given cassettes, then the temporary files interrupted writes left
behind, then the module directories left empty, and returns what went and
what could not. Every path is checked against the cassette dir before it is
unlinked (a symlink is removed as a link, never followed).

Leftovers. Cassettes are written to a temporary file
beside their target and then renamed over it; a process killed in between
leaves the temporary behind: a hidden name ending in ``.tmp``
(``.test_x.json.k3j2.tmp``). A write takes milliseconds, so one older than
:data:`GRACE` is a leftover; younger ones may belong to a test run in
progress and are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from exllm_py.cli.context import CommandFailed, Console

__all__ = [
    "GRACE",
    "Removal",
    "confirm",
    "remove_cassettes",
]

GRACE = timedelta(minutes=5)


@attrs.frozen
class Removal:
    """What :func:`remove_cassettes` removed (in a dry run: would remove), and what it could not."""

    #: The given files that are gone, in the order given.
    removed: tuple[Path, ...]
    #: The leftover temporaries that went with them.
    leftovers: tuple[Path, ...]
    #: Why each file still there could not be removed.
    failures: tuple[str, ...]


def confirm(console: Console, action: str, *, assume_yes: bool) -> bool:
    """Whether to go ahead and ``action`` ("remove 12 cassettes …").

    ``--yes`` answers for the user. Otherwise the question goes to stderr and
    the answer comes from stdin, which must be a terminal: a script that
    forgot ``--yes`` fails instead of removing anything.
    """
    if assume_yes:
        return True
    if not console.interactive():
        raise CommandFailed(
            f"not going to {action} without confirmation, and stdin is not a terminal to "
            "ask on; pass --yes to confirm"
        )
    console.err.write(f"{action[0].upper()}{action[1:]}? [y/N] ")
    console.err.flush()
    answer = console.stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        return True
    console.note("aborted: nothing was removed")
    return False


def remove_cassettes(
    paths: Iterable[Path], cassette_dir: Path, now: datetime, *, dry_run: bool = False
) -> Removal:
    """Remove ``paths``, the leftovers under ``cassette_dir`` at ``now``, and emptied dirs.

    A file that cannot be removed is a failure, and the rest still go. With
    ``dry_run`` nothing is touched, and everything counts as removed.
    """
    failures: list[str] = []

    def remove_all(targets: Iterable[Path]) -> tuple[Path, ...]:
        gone = []
        for path in targets:
            problem = None if dry_run else _remove(path, cassette_dir)
            if problem is None:
                gone.append(path)
            else:
                failures.append(problem)
        return tuple(gone)

    removed = remove_all(paths)
    leftovers = remove_all(_find_leftovers(cassette_dir, now))
    if not dry_run:
        _prune_empty_dirs([*removed, *leftovers], cassette_dir)
    return Removal(removed, leftovers, tuple(failures))


def _find_leftovers(cassette_dir: Path, now: datetime) -> list[Path]:
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


def _inside(path: Path, cassette_dir: Path) -> bool:
    """Whether ``path`` is a file entry within ``cassette_dir`` (its parent resolved)."""
    return path.name not in ("", ".", "..") and path.parent.resolve().is_relative_to(
        cassette_dir.resolve()
    )


def _remove(path: Path, cassette_dir: Path) -> str | None:
    """Unlink ``path``; ``None`` when done, else why it could not be removed."""
    if not _inside(path, cassette_dir):
        return f"{path} is not inside the cassette dir {cassette_dir}; left alone"
    try:
        path.unlink()
    except FileNotFoundError:
        return None  # already gone: what was asked for
    except OSError as exc:
        return f"could not remove {path}: {exc.strerror or exc}"
    return None


def _prune_empty_dirs(paths: Iterable[Path], cassette_dir: Path) -> None:
    """Remove the now-empty directories that held ``paths``, below ``cassette_dir``."""
    top = cassette_dir.resolve()
    for directory in sorted({path.parent for path in paths}, key=lambda p: -len(p.parts)):
        current = directory
        while current.resolve() != top and current.resolve().is_relative_to(top):
            try:
                current.rmdir()
            except OSError:
                break  # not empty (or not ours to remove): stop climbing
            current = current.parent
