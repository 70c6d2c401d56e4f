"""Vectors on disk beside a ``DiskStore``'s entries, so a restart keeps its semantic matches.

A SQLite file (:data:`FILE_NAME`) in the store's directory, one row per
indexed entry: its store key, the embedder's name, the partition, the
question and the vector (float32 bytes). A row is written when its entry
is stored and indexed, and deleted when the entry leaves the store (the
store's evict event: ``DiskStore`` reports those from the thread doing its
I/O, a worker thread for async callers). A row that outlives its entry
anyway (evicted by another process) is harmless: a candidate whose entry is
gone from the store is never served, and its row goes then.

Only rows of the cache's own embedder are loaded: vectors of another
model are never compared.

May import: the standard library, :mod:`exllm_py.forksafe`.
"""

from __future__ import annotations

import array
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from exllm_py.forksafe import renew_after_fork

__all__ = ["FILE_NAME", "VectorFile"]

FILE_NAME = "semantic-vectors.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key TEXT PRIMARY KEY,
    embedder TEXT NOT NULL,
    partition TEXT NOT NULL,
    question TEXT NOT NULL,
    vector BLOB NOT NULL
)
"""


class VectorFile:
    """The vectors of one directory's entries, for one embedder."""

    def __init__(self, directory: Path, embedder: str) -> None:
        self.path = Path(directory) / FILE_NAME
        self.embedder = embedder
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._connection, self._pid = _open(self.path), os.getpid()

    def save(self, key: str, partition: str, question: str, vector: Sequence[float]) -> None:
        """Keep ``vector`` for the entry stored under ``key`` (replacing any earlier one)."""
        blob = array.array("f", vector).tobytes()
        with self._lock:
            self._here().execute(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)",
                (key, self.embedder, partition, question, blob),
            )

    def forget(self, key: str) -> None:
        """Delete the row of ``key``, whose entry is gone."""
        with self._lock:
            self._here().execute("DELETE FROM vectors WHERE key = ?", (key,))

    def rows(self) -> Iterator[tuple[str, str, str, array.array[float]]]:
        """``(key, partition, question, vector)`` of every row of this embedder."""
        query = "SELECT key, partition, question, vector FROM vectors WHERE embedder = ?"
        with self._lock:
            found = self._here().execute(query, (self.embedder,)).fetchall()
        for key, partition, question, blob in found:
            vector = array.array("f")
            vector.frombytes(blob)
            yield key, partition, question, vector

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():  # a forked child never closes its parent's
                self._connection.close()

    def _here(self) -> sqlite3.Connection:
        """This process's connection (under the lock): a forked child opens its own.

        SQLite's rule: a connection must not be used across a fork. The
        parent's is kept aside in the child, never used nor closed there
        (closing it could checkpoint or unlock the parent's file).
        """
        if self._pid != os.getpid():
            _INHERITED.append(self._connection)
            self._connection, self._pid = _open(self.path), os.getpid()
        return self._connection


# Connections a forked child inherited: kept alive, so that it never closes them.
_INHERITED: list[sqlite3.Connection] = []


def _open(path: Path) -> sqlite3.Connection:
    # One connection, shared under the lock; autocommit, as each write is one statement.
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
    connection.execute("PRAGMA journal_mode=WAL")
    # Vectors can be rebuilt (re-embedding, or plain misses): not worth an fsync per write.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(_SCHEMA)
    return connection
