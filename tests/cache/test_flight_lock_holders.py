"""The cross-process lock's record of which thread holds which lock, in this process.

A holder whose lock expired (it outlived ``lock_ttl``) and a successor in
this same process that took the lock since each hold a record; whichever
finishes first must remove only its own.
"""

from __future__ import annotations

import threading

from exllm_py.cache.distributed_lock import _Holders

NAME = "ns@lock:key"


class Holder:
    """A thread inside ``holders.holding(NAME, token)`` until ``leave`` is set."""

    def __init__(self, holders: _Holders, token: str) -> None:
        self.holders = holders
        self.token = token
        self.inside = threading.Event()
        self.check = threading.Event()
        self.checked = threading.Event()
        self.leave = threading.Event()
        self.held_here: bool | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        with self.holders.holding(NAME, self.token):
            self.inside.set()
            while not self.leave.is_set():
                if self.check.wait(5):
                    self.check.clear()
                    self.held_here = self.holders.held_here(NAME)
                    self.checked.set()
                else:
                    break

    def ask(self) -> bool | None:
        """Whether, seen from this holder's thread, the lock is held on this thread."""
        self.checked.clear()
        self.check.set()
        assert self.checked.wait(5), "the holder thread did not answer"
        return self.held_here

    def finish(self) -> None:
        self.leave.set()
        self.check.set()
        self.thread.join(5)
        assert not self.thread.is_alive()


class TestHolders:
    def test_an_expired_holder_leaving_keeps_its_successors_record(self) -> None:
        holders = _Holders()
        expired = Holder(holders, "token-a")
        successor: Holder | None = None
        try:
            assert expired.inside.wait(5)
            successor = Holder(holders, "token-b")  # took the lock after the first one expired
            assert successor.inside.wait(5)
            assert expired.ask() is True  # still computing on its thread
            assert successor.ask() is True
            expired.finish()
            assert successor.ask() is True
            assert not holders.held_here(NAME)  # not on this thread
        finally:
            expired.finish()
            if successor is not None:
                successor.finish()
        assert not holders._threads

    def test_a_successor_leaving_first_keeps_the_expired_holders_record(self) -> None:
        holders = _Holders()
        expired = Holder(holders, "token-a")
        successor: Holder | None = None
        try:
            assert expired.inside.wait(5)
            successor = Holder(holders, "token-b")
            assert successor.inside.wait(5)
            successor.finish()
            assert expired.ask() is True
        finally:
            expired.finish()
            if successor is not None:
                successor.finish()
        assert not holders._threads

    def test_computing_without_the_lock_leaves_no_record(self) -> None:
        holders = _Holders()
        with holders.holding(NAME, None):
            assert not holders.held_here(NAME)
        with holders.holding(NAME, "token"):
            assert holders.held_here(NAME)
        assert not holders.held_here(NAME)
