"""One daemon thread that sweeps expired entries out of every ``MemoryStore``.

Stores are held weakly, so a store that is no longer used is collected and
forgotten; the thread is a daemon, so it never keeps the process alive.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import weakref
from typing import Protocol

__all__ = ["SWEEPER", "Sweeper"]


class Sweepable(Protocol):
    def sweep(self) -> int: ...


class Sweeper:
    """Calls ``sweep()`` on each registered store every ``interval`` seconds."""

    def __init__(self) -> None:
        self._stores: weakref.WeakKeyDictionary[Sweepable, list[float]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, store: Sweepable, interval: float) -> None:
        if not 0 < interval < math.inf:  # NaN fails this too: it would never come due
            raise ValueError(
                "cleanup_interval must be positive, finite seconds (or None to turn sweeping off)"
            )
        with self._lock:
            # [interval, next due time on the monotonic clock]
            self._stores[store] = [interval, time.monotonic() + interval]
            self._start_locked()
        self._wake.set()

    def restart_after_fork(self) -> None:
        """In a forked child (a pre-forking server's worker), the thread did not come along."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        if len(self._stores):
            with self._lock:
                self._start_locked()

    def _start_locked(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="exllm-cache-sweeper", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=self._sweep_due())
            self._wake.clear()

    def _sweep_due(self) -> float:
        """Sweep the stores that are due; return seconds until the next one is."""
        now = time.monotonic()
        with self._lock:
            schedule = list(self._stores.items())
        next_due = now + 3600.0
        for store, timing in schedule:
            interval, due = timing
            if due <= now:
                # One broken store must not stop the sweeping of the others.
                with contextlib.suppress(Exception):
                    store.sweep()
                timing[1] = due = now + interval
            next_due = min(next_due, due)
        del schedule  # let stores that are gone be collected while we wait
        return max(next_due - time.monotonic(), 0.01)


SWEEPER = Sweeper()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=SWEEPER.restart_after_fork)
