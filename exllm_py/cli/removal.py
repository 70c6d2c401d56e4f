"""Removing files from the cassette dir, and nothing outside it.

Every path is checked against the cassette dir before it is unlinked (a
symlink is removed as a link, never followed), and module directories left
empty are removed after their last cassette.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["inside", "prune_empty_dirs", "remove"]


def inside(path: Path, cassette_dir: Path) -> bool:
    """Whether ``path`` is a file entry within ``cassette_dir`` (its parent resolved)."""
    return path.name not in ("", ".", "..") and path.parent.resolve().is_relative_to(
        cassette_dir.resolve()
    )


def remove(path: Path, cassette_dir: Path) -> str | None:
    """Unlink ``path``; ``None`` when done, else why it could not be removed."""
    if not inside(path, cassette_dir):
        return f"{path} is not inside the cassette dir {cassette_dir}; left alone"
    try:
        path.unlink()
    except FileNotFoundError:
        return None  # already gone: what was asked for
    except OSError as exc:
        return f"could not remove {path}: {exc.strerror or exc}"
    return None


def prune_empty_dirs(paths: Iterable[Path], cassette_dir: Path) -> None:
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
