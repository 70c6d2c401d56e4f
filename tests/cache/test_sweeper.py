"""The sweeper: one daemon thread that sweeps every registered store on its interval.

Each test makes a ``Sweeper`` of its own, so that what it sees is that
sweeper's doing. Stores tell the test when they were swept (an event), so
no test sleeps to wait for the thread.
"""

from __future__ import annotations

import math
import re
import threading

import pytest

from exllm_py.cache.entry import make_entry
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.sweeper import Sweeper
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock

THREAD_NAME = "exllm-cache-sweeper"


class SignallingStore(MemoryStore):
    """A memory store that sets ``swept`` after each sweep (or raises there, if told to)."""

    def __init__(self, clock: FakeClock, error: Exception | None = None) -> None:
        super().__init__(clock=clock, cleanup_interval=None)
        self.swept = threading.Event()
        self.error = error

    def sweep(self) -> int:
        try:
            if self.error is not None:
                raise self.error
            return super().sweep()
        finally:
            self.swept.set()


def expired_store(clock: FakeClock, error: Exception | None = None) -> SignallingStore:
    """A store holding one entry whose deadline has passed (no read has dropped it yet)."""
    store = SignallingStore(clock, error)
    store.set("k", make_entry(LLMResponse("a", "m", "p"), "k", clock(), 5.0))
    clock.tick(6)
    return store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sweeper_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == THREAD_NAME}


class TestSweeping:
    """A registered store is swept by the sweeper's thread, without any read of it."""

    def test_a_registered_store_loses_its_expired_entries(self, clock: FakeClock) -> None:
        store = expired_store(clock)
        Sweeper().register(store, 0.01)
        assert store.swept.wait(5), "the sweeper never swept the store"
        assert len(store) == 0
        assert store.stats().expirations == 1

    def test_a_store_that_fails_to_sweep_stops_no_other(self, clock: FakeClock) -> None:
        broken = expired_store(clock, RuntimeError("sweep broke"))
        healthy = expired_store(clock)
        sweeper = Sweeper()
        sweeper.register(broken, 0.01)
        sweeper.register(healthy, 0.01)
        assert broken.swept.wait(5)
        assert healthy.swept.wait(5), "one broken store stopped the sweeping of the others"
        assert len(healthy) == 0

    def test_a_store_is_swept_again_on_its_interval(self, clock: FakeClock) -> None:
        store = expired_store(clock)
        Sweeper().register(store, 0.01)
        assert store.swept.wait(5)
        store.swept.clear()
        store.set("later", make_entry(LLMResponse("a", "m", "p"), "later", clock(), 5.0))
        clock.tick(6)
        while "later" in store._entries:  # a sweep may come before the tick: wait for the next
            assert store.swept.wait(5), "the store was swept once only"
            store.swept.clear()

    @pytest.mark.parametrize("interval", [0, -1.0, math.inf, math.nan])
    def test_an_interval_that_never_comes_due_is_refused(
        self, clock: FakeClock, interval: float
    ) -> None:
        with pytest.raises(ValueError, match=r"^cleanup_interval must be positive, finite"):
            Sweeper().register(SignallingStore(clock), interval)


class TestSchedule:
    """First swept an interval after registering, by a thread that never holds up the exit."""

    def test_a_store_is_not_swept_before_its_interval(self, clock: FakeClock) -> None:
        patient = expired_store(clock)
        eager = expired_store(clock)
        sweeper = Sweeper()
        sweeper.register(patient, 3600.0)
        sweeper.register(eager, 0.01)
        # The pass that swept ``eager`` looked at ``patient`` too, registered before it.
        assert eager.swept.wait(5), "the sweeper never swept the short-interval store"
        assert not patient.swept.is_set()
        assert len(patient) == 1

    def test_between_passes_the_thread_waits_until_the_soonest_store_is_due(
        self, clock: FakeClock
    ) -> None:
        """No polling: the wait after a pass runs to the next due store (an hour with none)."""
        sweeper = Sweeper()
        assert 3599.0 < sweeper._sweep_due() <= 3600.0
        slow, often = SignallingStore(clock), SignallingStore(clock)  # held: weakly registered
        sweeper.register(slow, 600.0)
        assert 599.0 < sweeper._sweep_due() <= 600.0
        sweeper.register(often, 0.25)
        assert sweeper._sweep_due() <= 0.25

    def test_the_thread_is_a_daemon(self, clock: FakeClock) -> None:
        before = sweeper_threads()
        Sweeper().register(SignallingStore(clock), 3600.0)
        [thread] = sweeper_threads() - before
        assert thread.daemon is True

    def test_the_refusal_says_what_to_pass(self, clock: FakeClock) -> None:
        message = "cleanup_interval must be positive, finite seconds (or None to turn sweeping off)"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            Sweeper().register(SignallingStore(clock), 0)


class TestAfterFork:
    """The hook a forked child runs starts a thread of its own: the parent's did not come along."""

    def test_the_hook_starts_a_new_thread_that_sweeps(self, clock: FakeClock) -> None:
        sweeper = Sweeper()
        first = expired_store(clock)
        sweeper.register(first, 0.01)
        assert first.swept.wait(5)
        before = sweeper_threads()
        sweeper.restart_after_fork()
        assert sweeper_threads() - before, "no new sweeper thread after the fork hook"
        second = expired_store(clock)
        sweeper.register(second, 0.01)
        assert second.swept.wait(5)
        assert len(second) == 0

    def test_a_sweeper_with_no_store_starts_no_thread(self) -> None:
        before = sweeper_threads()
        Sweeper().restart_after_fork()
        assert sweeper_threads() == before
