"""``SqliteGuard`` on its own: work on a real SQLite file, its faults turned into FAULT or an error.

The files are real: a database in ``tmp_path``, and a file of text that
SQLite refuses as "not a database" (a fault, ``corrupt``). The disk store
that uses the guard is tested in ``test_disk_store.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.disk_faults import FAULT, DiskStoreUnavailable, SqliteGuard


@pytest.fixture
def not_a_database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a file that holds text, not a database: every query of it fails."""
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 200)
    connection = sqlite3.connect(path)
    yield connection
    connection.close()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "good.db")
    connection.execute("CREATE TABLE t (n INTEGER)")
    yield connection
    connection.close()


def insert(connection: sqlite3.Connection, first: int, second: int, *, third: int) -> int:
    """Inserts three rows; the row count after."""
    connection.executemany("INSERT INTO t VALUES (?)", [(first,), (second,), (third,)])
    (count,) = connection.execute("SELECT count(*) FROM t").fetchone()
    return int(count)


def read(connection: sqlite3.Connection) -> object:
    return connection.execute("SELECT * FROM sqlite_master").fetchall()


class TestWork:
    """The work runs with every argument it was given, positional and by name."""

    def test_run_and_call_return_what_the_work_returns(self, database: sqlite3.Connection) -> None:
        guard = SqliteGuard(CircuitBreaker(name="disk"), "good.db")
        assert guard.run(insert, database, 1, 2, third=3) == 3
        assert guard.call(insert, database, 4, 5, third=6) == 6


class TestFaults:
    """A fault is FAULT from ``run``, an error naming file, reason and remedy from ``call``."""

    def test_run_returns_fault_and_counts_a_failure(
        self, not_a_database: sqlite3.Connection
    ) -> None:
        breaker = CircuitBreaker(name="disk")
        assert SqliteGuard(breaker, "notes.txt").run(read, not_a_database) is FAULT
        assert breaker.consecutive_failures == 1
        assert breaker.last_error is not None
        assert breaker.last_error.reason == "corrupt"

    def test_call_names_the_file_the_reason_what_sqlite_said_and_the_fix(
        self, not_a_database: sqlite3.Connection
    ) -> None:
        guard = SqliteGuard(CircuitBreaker(name="disk"), "notes.txt")
        with pytest.raises(DiskStoreUnavailable) as raised:
            guard.call(read, not_a_database)
        assert str(raised.value) == (
            "DiskStore database notes.txt could not be used (corrupt: file is not a database); "
            "the file is damaged: delete it (the store starts empty) or give the DiskStore "
            "another directory"
        )
        assert (raised.value.database, raised.value.reason) == ("notes.txt", "corrupt")
        assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)

    def test_a_guard_given_no_file_name_says_it_has_none(
        self, not_a_database: sqlite3.Connection
    ) -> None:
        with pytest.raises(DiskStoreUnavailable) as raised:
            SqliteGuard(CircuitBreaker(name="disk")).call(read, not_a_database)
        assert str(raised.value).startswith("DiskStore database (unnamed) could not be used")
        assert raised.value.database == "(unnamed)"
