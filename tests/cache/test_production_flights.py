"""What a flight's other callers get from ``ProductionStrategy`` (``cache.production``).

A follower is a caller that waited for an identical call in flight; a late
caller is one that missed just before an identical call landed, and finds
its answer when it re-reads the store as a leader. The orderings are forced
with events, never with timing.
"""

from __future__ import annotations

import threading
from typing import Any

from exllm_py import Client, LLMResponse, MockProvider, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from tests.cache.flight_parties import eventually, outcome_of
from tests.cache.test_singleflight_recheck import FirstReadHeld
from tests.clocks import FakeClock

USER = [{"role": "user", "content": "What is the capital of France?"}]
WAIT_S = 10.0  # a bound on every wait below, so a broken build fails instead of hanging


class FollowerClock(FakeClock):
    """A store clock that, once armed for a thread, holds that thread's next reading.

    A follower reads the store's clock to stamp the leader's answer as a hit,
    before it copies that answer: holding it there lets the test act between
    the leader's return and the follower's copy.
    """

    def __init__(self) -> None:
        super().__init__()
        self.held: threading.Thread | None = None
        self.reading = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> float:
        if threading.current_thread() is self.held:
            self.held = None
            self.reading.set()
            assert self.release.wait(WAIT_S), "the held clock reading was never released"
        return super().__call__()


class TestFollowersCopy:
    """A follower's answer is a copy taken when the leader landed, not the leader's caller's."""

    def test_the_leaders_caller_editing_its_answer_does_not_reach_a_follower(self) -> None:
        clock = FollowerClock()
        strategy = ProductionStrategy(MemoryStore(clock=clock, cleanup_interval=None))
        computing, go = threading.Event(), threading.Event()

        def answer(_messages: Any) -> str:
            computing.set()
            assert go.wait(WAIT_S), "the leader was never let go"
            return "Paris."

        with Client(cache_strategy=strategy, mock=MockProvider(answer)) as client:
            lead, led = outcome_of(lambda: client.chat("mock", USER))
            assert computing.wait(WAIT_S), "the leader never called the provider"
            follow, followed = outcome_of(lambda: client.chat("mock", USER))
            clock.held = follow
            eventually(lambda: strategy.waiting() == 1)
            go.set()
            lead.join(WAIT_S)
            assert clock.reading.wait(WAIT_S), "the follower never stamped its copy"
            [live] = led
            assert isinstance(live, LLMResponse)
            live.metadata["note"] = "edited by the leader's caller"  # type: ignore[index]
            clock.release.set()
            follow.join(WAIT_S)
        [copy] = followed
        assert isinstance(copy, LLMResponse)
        assert copy.content == "Paris."
        assert copy.metadata["single_flight"] is True
        assert "note" not in copy.metadata
        assert client.mock.calls == 1


class TestLateCallersHit:
    """A late caller's answer found on its re-read is reported as a hit with the call's labels."""

    def test_the_re_read_hit_is_an_event_labelled_like_the_call(self, events: Any) -> None:
        store = FirstReadHeld()
        strategy = ProductionStrategy(store)
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            late, outcome = outcome_of(lambda: client.chat("mock", USER, cache_namespace="eu"))
            try:
                assert store.first_read_done.wait(WAIT_S), "the late caller never read the store"
                early = client.chat("mock", USER, cache_namespace="eu")
            finally:
                store.release_first_read.set()
                late.join(WAIT_S)
        [answer] = outcome
        assert isinstance(answer, LLMResponse)
        assert early.metadata["from_cache"] is False
        assert answer.metadata["from_cache"] is True
        assert [event[0] for event in events] == [
            telemetry.CACHE_MISS,
            telemetry.CACHE_PUT,
            telemetry.CACHE_HIT,
        ]
        assert events[2][2] == {
            "key": answer.metadata["cache_key"],
            "provider": "mock",
            "model": "mock-1",
            "namespace": "eu",
            "match": "exact",
        }


class TestACallOnTheLeadersThread:
    """A call made for a key its own thread is computing calls the provider and counts a miss."""

    def test_the_inner_call_reports_its_own_miss_and_the_leader_stores(self, events: Any) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        inner: list[LLMResponse] = []
        asked: list[str] = []

        def answer(_messages: Any) -> str:
            asked.append("Paris.")
            if len(asked) == 1:  # the leader's provider call asks again, on this thread
                inner.append(client.chat("mock", USER))
            return asked[-1]

        with Client(cache_strategy=strategy, mock=MockProvider(answer)) as client:
            outer = client.chat("mock", USER)
            hit = client.chat("mock", USER)
        assert len(asked) == 2
        assert (outer.metadata["from_cache"], inner[0].metadata["from_cache"]) == (False, False)
        assert hit.metadata["from_cache"] is True
        assert [event[0] for event in events] == [
            telemetry.CACHE_MISS,
            telemetry.CACHE_MISS,
            telemetry.CACHE_PUT,
            telemetry.CACHE_HIT,
        ]
        misses = [event for event in events if event[0] == telemetry.CACHE_MISS]
        assert {metadata["key"] for _, _, metadata in misses} == {hit.metadata["cache_key"]}
        assert all(measurements["duration_ns"] >= 0 for _, measurements, _ in misses)
        stats = strategy.stats()
        assert (stats.hits, stats.misses, stats.puts) == (1, 2, 1)
