"""The disk store's database: where it lives, how a connection is opened, and its schema.

One file, ``<directory>/responses.sqlite3``, in WAL mode: readers never
wait for the writer, and a process killed in the middle of a write leaves
its transaction uncommitted in the log, where the next opener ignores it.
``synchronous=NORMAL``: a commit survives the crash of any process, though
the last few may be lost to a power cut, which is a fair trade for a cache.

One table of entries, and one row of totals that triggers keep in step
with it inside every transaction, so that bounds are checked without a
scan and stay exact when several processes write.

May import: the standard library only.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = [
    "DATABASE_NAME",
    "MIN_SQLITE_VERSION",
    "SCHEMA_VERSION",
    "default_directory",
    "open_database",
]

#: The database file's name inside the store's directory.
DATABASE_NAME: Final = "responses.sqlite3"
#: ``PRAGMA user_version`` of a database this module created.
SCHEMA_VERSION: Final = 1
#: ``DELETE … RETURNING`` (how evictions learn what they removed) came with 3.35.
MIN_SQLITE_VERSION: Final = (3, 35, 0)

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS entries (
        key TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        expires_at REAL,
        last_used INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_by_use ON entries (last_used)",
    """CREATE INDEX IF NOT EXISTS entries_by_deadline ON entries (expires_at)
        WHERE expires_at IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS totals (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        entries INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO totals (id, entries, bytes) VALUES (0, 0, 0)",
    """CREATE TRIGGER IF NOT EXISTS entry_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + new.size WHERE id = 0;
    END""",
    """CREATE TRIGGER IF NOT EXISTS entry_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 0;
    END""",
    """CREATE TRIGGER IF NOT EXISTS entry_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - old.size + new.size WHERE id = 0;
    END""",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)


def default_directory(env: Mapping[str, str] | None = None) -> Path:
    """The user's cache directory for exllm_py, as the platform's conventions place it.

    Linux and other Unix: ``$XDG_CACHE_HOME/exllm_py`` when that variable
    holds an absolute path (the XDG spec says to ignore a relative one),
    else ``~/.cache/exllm_py``. macOS: ``~/Library/Caches/exllm_py``.
    Windows: ``%LOCALAPPDATA%\\exllm_py\\Cache``.
    """
    env = os.environ if env is None else env
    if sys.platform == "win32":
        local = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "exllm_py" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "exllm_py"
    xdg = env.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "exllm_py"


def open_database(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection to the store's database, its schema in place; ``sqlite3.Error`` if not.

    Autocommit mode (``isolation_level=None``): each statement is its own
    transaction unless the store opens one (``BEGIN IMMEDIATE``).
    ``timeout`` is how long a writer waits for another process's write lock.
    """
    connection = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        if not _has_schema(connection):
            _create_schema(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _has_schema(connection: sqlite3.Connection) -> bool:
    # A read, so that the many connections that open an existing store never
    # queue for the write lock.
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version not in (0, SCHEMA_VERSION):
        raise sqlite3.DatabaseError(
            f"{_path_of(connection)} has schema version {version}, not {SCHEMA_VERSION}: "
            "it was written by another version of exllm_py; give this one another directory"
        )
    return bool(version == SCHEMA_VERSION)


def _create_schema(connection: sqlite3.Connection) -> None:
    # One write transaction: processes that open a new store at once create it once.
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _path_of(connection: sqlite3.Connection) -> str:
    """The file behind a connection's main database, for messages."""
    for _, name, file in connection.execute("PRAGMA database_list"):
        if name == "main":
            return str(file)
    return "the database"
