"""DiskStore across processes: a fresh process reads, two write at once, a killed writer."""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sqlite3
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from exllm_py.cache.entry import make_entry
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from exllm_py.types import LLMResponse
from tests.cache.forked import fork_running
from tests.cache.test_fork_safety import wait_bounded

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

SPAWN = multiprocessing.get_context("spawn")
ROUNDS = 150
JOIN_TIMEOUT = 60


def _answer(key: str) -> LLMResponse:
    return LLMResponse(f"answer to {key}", "m", "mock", raw={"key": key})


def _write(directory: str, prefix: str, count: int) -> None:
    store = DiskStore(directory, default_ttl=None)
    for n in range(count):
        key = f"{prefix}{n}"
        store.set(key, make_entry(_answer(key), key, time.time(), None))
    store.close()


def _write_and_read(
    directory: str, mine: str, theirs: str, start: Any, done: Any, out: Any
) -> None:
    """Write own keys while reading the other's; report how many of theirs were seen."""
    store = DiskStore(directory, timeout=10.0)
    start.wait(JOIN_TIMEOUT)
    seen: set[int] = set()
    for n in range(ROUNDS):
        key = f"{mine}{n}"
        store.set(key, make_entry(_answer(key), key, time.time(), None))
        for other in range(n + 1):
            if other not in seen and store.get(f"{theirs}{other}") is not None:
                seen.add(other)
    # Once the other writer says it has committed all of its keys, every one must be there.
    done[mine].set()
    done[theirs].wait(JOIN_TIMEOUT)
    for other in set(range(ROUNDS)) - seen:
        got = store.get(f"{theirs}{other}")
        if got is not None:
            assert got.response.content == f"answer to {theirs}{other}"
            seen.add(other)
    out.put((mine, len(seen), store.stats().hits))
    store.close()


def _write_forever(directory: str, committed: Any) -> None:
    """Write numbered entries without end; say when the first ROUNDS are committed."""
    store = DiskStore(directory, max_entries=10**6)
    n = 0
    while True:
        key = f"k{n}"
        store.set(key, make_entry(_answer(key), key, time.time(), None))
        n += 1
        if n == ROUNDS:
            committed.set()


def _hold_mid_transaction(directory: str, held: Any) -> None:
    """Open a write transaction on the store's table, write into it, and never finish."""
    _write(directory, "done", 20)
    connection = sqlite3.connect(Path(directory) / DATABASE_NAME, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    for n in range(2000):  # enough pages to spill into the write-ahead log
        connection.execute(
            "INSERT INTO entries (key, value, size, expires_at, last_used) "
            "VALUES (?, ?, ?, NULL, ?)",
            (f"torn{n}", b"x" * 4000, 4000, 10**9 + n),
        )
    connection.execute("DELETE FROM entries WHERE key = 'done0'")
    held.set()
    threading.Event().wait()  # parked, transaction open, until the parent kills it


def _check_consistent(directory: Path) -> list[tuple[int, int, int, int]]:
    connection = sqlite3.connect(directory / DATABASE_NAME)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return connection.execute(
            "SELECT t.entries, t.bytes, (SELECT count(*) FROM entries), "
            "(SELECT coalesce(sum(size), 0) FROM entries) FROM totals t"
        ).fetchall()
    finally:
        connection.close()


def _kill(process: Any) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(JOIN_TIMEOUT)
    assert process.exitcode == -signal.SIGKILL


class TestAcrossProcesses:
    """Processes share one store file: what one commits, every other reads."""

    def test_a_fresh_process_writes_and_this_one_reads(self, tmp_path: Path) -> None:
        """Entries written by a process that has exited are served here."""
        child = SPAWN.Process(target=_write, args=(str(tmp_path), "p", 30))
        child.start()
        child.join(JOIN_TIMEOUT)
        assert child.exitcode == 0
        store = DiskStore(tmp_path)
        for n in range(30):
            got = store.get(f"p{n}")
            assert got is not None
            assert got.response.content == f"answer to p{n}"
        assert store.stats().entries == 30

    def test_two_processes_write_and_read_at_once(self, tmp_path: Path) -> None:
        """Each writes its keys while reading the other's: all are seen, the totals add up."""
        start, out = SPAWN.Event(), SPAWN.Queue()
        done = {"a": SPAWN.Event(), "b": SPAWN.Event()}  # set once a writer has committed all
        children = [
            SPAWN.Process(target=_write_and_read, args=(str(tmp_path), a, b, start, done, out))
            for a, b in (("a", "b"), ("b", "a"))
        ]
        for child in children:
            child.start()
        start.set()
        results = sorted(out.get(timeout=JOIN_TIMEOUT) for _ in children)
        for child in children:
            child.join(JOIN_TIMEOUT)
            assert child.exitcode == 0
        assert [(mine, seen) for mine, seen, _ in results] == [("a", ROUNDS), ("b", ROUNDS)]
        ((entries, stored, count, size),) = _check_consistent(tmp_path)
        assert (entries, stored) == (count, size)
        assert count == 2 * ROUNDS


def _grandchild_writes(directory: str, go: int, done: int) -> None:
    """Use the store and fork a grandchild, then close the store and exit.

    The grandchild, told to go (once this process is gone), writes an entry,
    says so, and keeps its store open until told to go again.
    """
    store = DiskStore(directory, default_ttl=None)
    store.set("child", make_entry(_answer("child"), "child", time.time(), None))

    def write_when_told() -> None:
        os.read(go, 1)
        store.set("grandchild", make_entry(_answer("grandchild"), "grandchild", time.time(), None))
        os.write(done, b"1")
        os.read(go, 1)  # still running while the others read what it wrote
        store.close()

    fork_running(write_when_told)
    store.close()


def _check_sum(directory: Path) -> int:
    connection = sqlite3.connect(directory / DATABASE_NAME)
    try:
        (total,) = connection.execute("SELECT sum(size) FROM entries").fetchone()
        return int(total)
    finally:
        connection.close()


class TestKilledWriter:
    """A writer killed with SIGKILL leaves a consistent store with every committed entry."""

    def test_killed_holding_an_open_transaction(self, tmp_path: Path) -> None:
        """Nothing of the torn transaction survives; the entries committed before are served."""
        held = SPAWN.Event()
        child = SPAWN.Process(target=_hold_mid_transaction, args=(str(tmp_path), held))
        child.start()
        assert held.wait(JOIN_TIMEOUT), "the writer never reached its open transaction"
        _kill(child)
        store = DiskStore(tmp_path)
        assert [store.get(f"done{n}") is not None for n in range(20)] == [True] * 20
        assert store.get("torn0") is None
        ((entries, stored, count, size),) = _check_consistent(tmp_path)
        assert (entries, stored) == (count, size) == (20, _check_sum(tmp_path))
        store.set("after", make_entry(_answer("after"), "after", time.time(), None))
        assert store.get("after") is not None

    def test_killed_while_writing_through_the_store(self, tmp_path: Path) -> None:
        """Killed in its write loop: the file checks ok and every acknowledged entry is there."""
        committed = SPAWN.Event()
        child = SPAWN.Process(target=_write_forever, args=(str(tmp_path), committed))
        child.start()
        assert committed.wait(JOIN_TIMEOUT), "the writer never committed its first entries"
        _kill(child)
        ((entries, stored, count, size),) = _check_consistent(tmp_path)
        assert (entries, stored) == (count, size)
        assert count >= ROUNDS
        store = DiskStore(tmp_path)
        assert all(store.get(f"k{n}") is not None for n in range(ROUNDS))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestForkedProcesses:
    """A forked process opens its own connection, however many forks away from the opener."""

    def test_a_grandchild_writes_after_the_child_that_forked_it_is_gone(
        self, tmp_path: Path
    ) -> None:
        """A child uses the store and forks, then closes it and exits: what the grandchild
        writes next is committed to the file, read by other processes while it runs on."""
        go_read, go_write = os.pipe()
        done_read, done_write = os.pipe()
        child = fork_running(lambda: _grandchild_writes(str(tmp_path), go_read, done_write))
        os.close(go_read)
        os.close(done_write)
        try:
            assert wait_bounded(child, JOIN_TIMEOUT) == 0, "the child failed (traceback above)"
            os.write(go_write, b"1")
            # Readable once the grandchild has written (or exited without writing: EOF).
            ready, _, _ = select.select([done_read], [], [], JOIN_TIMEOUT)
            assert ready, f"the grandchild did not write within {JOIN_TIMEOUT} s"
            assert os.read(done_read, 1) == b"1", "the grandchild failed (traceback above)"
            store = DiskStore(tmp_path)
            assert [store.get(key) is not None for key in ("child", "grandchild")] == [True, True]
            store.close()
        finally:
            with suppress(OSError):  # the grandchild may be gone already
                os.write(go_write, b"1")
            os.close(go_write)
            os.close(done_read)
