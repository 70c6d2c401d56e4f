"""The disk store's database: where it lives, how a connection is opened, and its schema.

One file, ``<directory>/responses.sqlite3``, in WAL mode: readers never
wait for the writer, and a process killed in the middle of a write leaves
its transaction uncommitted in the log, where the next opener ignores it.
``synchronous=NORMAL``: a commit survives the crash of any process, though
the last few may be lost to a power cut, which is a fair trade for a cache.

One table of entries, and one row of totals that triggers keep in step
with it inside every transaction, so that bounds are checked without a
scan and stay exact when several processes write.

Each entry row also carries what invalidation selects by: the entry's
``stored_at``, and its labels' provider, model and namespace (``NULL`` when
not known), each under an index, partial where most rows may have none, so
that an unlabelled entry costs those indexes nothing. Its tags are a JSON
array in the row, and one ``(tag, key)`` row per tag in a side table, found
by tag through its primary key; triggers derive the side table from the
column whenever an entry is added, retagged or removed, whoever writes it.

One row of usage, too: the hits, misses and saved cost every process
counted (:mod:`~exllm_py.cache.stores.usage`), which each process adds to
with the uses it records.

Versions. ``PRAGMA user_version`` says which schema a file has. Opening
an older file upgrades it in place, in one ``BEGIN IMMEDIATE`` transaction
that first reads the version again, so that when several processes open
it at once one upgrades and the others find it done. A new file goes
through the same steps from version 0, so that a new file and an upgraded
one have the same shape. Rows from version 1 get their ``stored_at`` from
their JSON (SQLite's ``json_extract``) and no labels: they match only
``key`` and ``older_than`` filters. Version 3 adds the usage row, at zero.

May import: the standard library only.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Mapping
from contextlib import closing, suppress
from pathlib import Path
from typing import Final

__all__ = [
    "DATABASE_NAME",
    "MIN_SQLITE_VERSION",
    "SCHEMA_VERSION",
    "default_directory",
    "missing_support",
    "open_database",
]

#: The database file's name inside the store's directory.
DATABASE_NAME: Final = "responses.sqlite3"
#: ``PRAGMA user_version`` of a database this module created or upgraded.
SCHEMA_VERSION: Final = 3
#: ``DELETE … RETURNING`` (how evictions learn what they removed) came with 3.35.
MIN_SQLITE_VERSION: Final = (3, 35, 0)

# Version 1, as the first release created it.
_VERSION_1: Final = (
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
)

# Version 2: what invalidation selects by. The new columns may be NULL, so that
# rows written without them (by version 1 code still running) stay valid.
_VERSION_2: Final = (
    "ALTER TABLE entries ADD COLUMN stored_at REAL",
    "ALTER TABLE entries ADD COLUMN provider TEXT",
    "ALTER TABLE entries ADD COLUMN model TEXT",
    "ALTER TABLE entries ADD COLUMN namespace TEXT",
    # The entry's tags as a JSON array of strings; the tags table is derived from it.
    "ALTER TABLE entries ADD COLUMN tags TEXT",
    # Before its index exists, so that the index is built once. CAST: SQLite 3.45+
    # would read a BLOB as its binary JSON; json_valid: a damaged value stays NULL
    # rather than failing the upgrade.
    """UPDATE entries SET stored_at = json_extract(CAST(value AS TEXT), '$.stored_at')
        WHERE json_valid(CAST(value AS TEXT))""",
    "CREATE INDEX entries_by_age ON entries (stored_at)",
    "CREATE INDEX entries_by_provider ON entries (provider, model) WHERE provider IS NOT NULL",
    "CREATE INDEX entries_by_model ON entries (model) WHERE model IS NOT NULL",
    "CREATE INDEX entries_by_namespace ON entries (namespace) WHERE namespace IS NOT NULL",
    """CREATE TABLE tags (
        tag TEXT NOT NULL,
        key TEXT NOT NULL,
        PRIMARY KEY (tag, key)
    ) WITHOUT ROWID""",
    # The tags table follows entries.tags through these triggers alone, whoever
    # writes: no writer can leave a tag behind its entry. An entry's tag rows are
    # found from its tags column, through the primary key: no second index to keep.
    # WHEN: an untagged entry, or one whose tags did not change, costs them nothing.
    """CREATE TRIGGER entry_tagged AFTER INSERT ON entries WHEN new.tags IS NOT NULL BEGIN
        INSERT OR IGNORE INTO tags (tag, key) SELECT value, new.key FROM json_each(new.tags);
    END""",
    """CREATE TRIGGER entry_retagged AFTER UPDATE OF tags ON entries
        WHEN old.tags IS NOT new.tags BEGIN
        DELETE FROM tags WHERE tag IN (SELECT value FROM json_each(old.tags)) AND key = old.key;
        INSERT OR IGNORE INTO tags (tag, key) SELECT value, new.key FROM json_each(new.tags);
    END""",
    """CREATE TRIGGER entry_untagged AFTER DELETE ON entries WHEN old.tags IS NOT NULL BEGIN
        DELETE FROM tags WHERE tag IN (SELECT value FROM json_each(old.tags)) AND key = old.key;
    END""",
)

# Version 3: the counts of the store's use, every process's, in one row.
_VERSION_3: Final = (
    """CREATE TABLE usage (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        hits INTEGER NOT NULL,
        misses INTEGER NOT NULL,
        saved_cost_usd REAL NOT NULL
    )""",
    "INSERT INTO usage (id, hits, misses, saved_cost_usd) VALUES (0, 0, 0, 0.0)",
)

# The steps from each version to the next: _STEPS[v] upgrades version v to v + 1.
_STEPS: Final = (_VERSION_1, _VERSION_2, _VERSION_3)


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


@functools.cache
def missing_support() -> str | None:
    """What this Python's SQLite lacks that the store needs, or ``None`` if nothing.

    A version with ``DELETE … RETURNING``, and the JSON functions (built in
    since 3.38, an option before): the tags table is derived through
    ``json_each``, and an upgrade reads ``stored_at`` with ``json_extract``.
    """
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        wanted = ".".join(map(str, MIN_SQLITE_VERSION))
        return f"SQLite {wanted} or newer; this Python has {sqlite3.sqlite_version}"
    with closing(sqlite3.connect(":memory:")) as connection:
        try:
            connection.execute("SELECT json_valid('[]')")
        except sqlite3.OperationalError:
            version = sqlite3.sqlite_version
            return f"SQLite's JSON functions, which this Python's SQLite {version} lacks"
    return None


def open_database(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection to the store's database, its schema current; ``sqlite3.Error`` if not.

    Autocommit mode (``isolation_level=None``): each statement is its own
    transaction unless the store opens one (``BEGIN IMMEDIATE``).
    ``timeout`` is how long a writer waits for another process's write lock
    (an upgrade waits as long for another process's upgrade).
    """
    connection = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        # A read first, so that the many connections that open a current store
        # never queue for the write lock.
        if _version(connection) != SCHEMA_VERSION:
            _upgrade(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _version(connection: sqlite3.Connection) -> int:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if not 0 <= version <= SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"{_path_of(connection)} has schema version {version}, newer than {SCHEMA_VERSION}: "
            "it was written by a later version of exllm_py; upgrade this one or give it "
            "another directory"
        )
    return int(version)


def _upgrade(connection: sqlite3.Connection) -> None:
    # One write transaction, and the version read again inside it: of the processes
    # that open an old (or new) file at once, the first upgrades it and the others,
    # queued behind its write lock, find it current.
    connection.execute("BEGIN IMMEDIATE")
    try:
        for step in _STEPS[_version(connection) :]:
            for statement in step:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        # Suppressed: SQLite may have rolled it back already (a full disk), and the
        # error that matters is the one that stopped the upgrade.
        with suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        raise


def _path_of(connection: sqlite3.Connection) -> str:
    """The file behind a connection's main database, for messages."""
    for _, name, file in connection.execute("PRAGMA database_list"):
        if name == "main":
            return str(file)
    return "the database"
