"""A follower that joins again after its leader left waits only what is left of its timeout.

Its first leader is abandoned partway through the follower's wait; a second
leader has taken the key by the time the follower joins again, and never
answers in time. The follower's whole wait, counted from the start of its
call, must stay within its own timeout. The strategy's clock is faked: the
test moves it on by most of the timeout while the follower waits on its
first leader, so a second wait of the full timeout (in real seconds) is
told apart from one of what is left, without sleeping.
"""

from __future__ import annotations

import asyncio
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest

from exllm_py.cache import production, singleflight
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.singleflight import Flight, Flights, Party
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.strategy import CacheLookup
from exllm_py.errors import TimeoutError
from exllm_py.request import CacheControl
from exllm_py.types import LLMResponse

TIMEOUT_S = 30.0  # the follower's own timeout
SPENT_S = 29.9  # of it, spent (on the faked clock) waiting on its first leader
REAL_LIMIT_S = 10.0  # what a follower that waits only what is left must finish within


class Abandoned(BaseException):
    """Stops a leader without an outcome, as a cancellation or interrupt does."""


class FakeClock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def perf_counter_ns(self) -> int:
        return self.ns


class GatedFlights(Flights[LLMResponse]):
    """Holds the follower's second join until the second leader leads the key."""

    def __init__(self, follower: CacheLookup) -> None:
        super().__init__()
        self.follower = follower
        self.follower_joins = 0
        self.rejoining = threading.Event()
        self.second_leader_leads = threading.Event()

    def join(self, key: str, party: Party | None = None) -> tuple[Flight[LLMResponse], bool]:
        if party is self.follower:
            self.follower_joins += 1
            if self.follower_joins == 2:
                self.rejoining.set()
                assert self.second_leader_leads.wait(REAL_LIMIT_S)
        flight, leads = super().join(key, party)
        if party is not self.follower and leads and self.follower_joins:
            self.second_leader_leads.set()
        return flight, leads


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(production, "_perf_ns", fake.perf_counter_ns)
    monkeypatch.setattr(
        singleflight, "time", types.SimpleNamespace(perf_counter_ns=fake.perf_counter_ns)
    )
    return fake


def lookup(timeout: float | None) -> CacheLookup:
    return CacheLookup("key", CacheControl(), "mock", "m", timeout=timeout)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # Abandoned too
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def held(
    arrived: threading.Event, release: threading.Event, then: Callable[[], LLMResponse]
) -> Callable[[], LLMResponse]:
    def compute() -> LLMResponse:
        arrived.set()
        assert release.wait(REAL_LIMIT_S * 3)
        return then()

    return compute


def answer() -> LLMResponse:
    return LLMResponse(content="late", model="m", provider="mock")


def abandon() -> LLMResponse:
    raise Abandoned


def never_called() -> LLMResponse:
    raise AssertionError("the follower should wait, not call the provider")


async def anever_called() -> LLMResponse:
    return never_called()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_whole_wait_stays_within_the_followers_timeout(clock: FakeClock, mode: str) -> None:
    follower_lookup = lookup(TIMEOUT_S)
    strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
    flights = strategy._flights = GatedFlights(follower_lookup)
    first_in, first_go = threading.Event(), threading.Event()
    second_in, second_go = threading.Event(), threading.Event()
    first, first_outcome = in_thread(
        lambda: strategy.fetch(lookup(None), held(first_in, first_go, abandon))
    )
    second: threading.Thread | None = None
    try:
        assert first_in.wait(5), "the first leader never computed"
        if mode == "sync":
            follower, followed = in_thread(lambda: strategy.fetch(follower_lookup, never_called))
        else:
            follower, followed = in_thread(
                lambda: asyncio.run(strategy.afetch(follower_lookup, anever_called))
            )
        assert _waiting(strategy), "the follower never waited on the first leader"
        clock.ns += int(SPENT_S * 1e9)  # most of the follower's timeout goes by
        first_go.set()  # the first leader is abandoned: the follower joins again
        first.join(5)
        assert isinstance(first_outcome[0], Abandoned)
        assert flights.rejoining.wait(5), "the follower did not join again"
        second, _ = in_thread(
            lambda: strategy.fetch(lookup(None), held(second_in, second_go, answer))
        )
        assert second_in.wait(5), "the second leader never computed"
        follower.join(REAL_LIMIT_S)
        assert not follower.is_alive(), (
            f"the follower waited more than {REAL_LIMIT_S} s after {SPENT_S} of its "
            f"{TIMEOUT_S} s had gone by: it waited its whole timeout again"
        )
        assert isinstance(followed[0], TimeoutError), followed
    finally:
        first_go.set()
        second_go.set()
        for thread in (first, second):
            if thread is not None:
                thread.join(5)


def _waiting(strategy: ProductionStrategy) -> bool:
    """Whether the follower waits on the first leader (bounded poll on the flight's counter)."""
    done = threading.Event()
    for _ in range(500):
        if strategy.waiting() == 1:
            return True
        done.wait(0.01)
    return False
