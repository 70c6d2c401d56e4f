"""``strategy.health()``: per store, whether it answers, its breaker, hit rate and last error.

Calls go through a real ``Client``; the hit-rate window is driven by a
``FakeClock`` given to the stores. Disk stores live in ``tmp_path``, Redis
stores on the real redis-server the tests start (one of the test's own
when it is to go down).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from exllm_py import Client, MockProvider, telemetry
from exllm_py.cache.health import HitRate, HitRateWindow, health_of, strategy_health
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.errors import ValidationError
from tests.clocks import FakeClock
from tests.redis_server import RedisServer

Report = tuple[dict[str, Any], dict[str, Any]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def errors() -> Iterator[list[Report]]:
    """The (measurements, metadata) of every ("exllm", "cache", "error") event in the test."""
    seen: list[Report] = []
    telemetry.attach(
        "test-health-errors",
        [telemetry.CACHE_ERROR],
        lambda _event, measurements, metadata: seen.append((measurements, metadata)),
    )
    yield seen
    telemetry.detach("test-health-errors")


def memory(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock, cleanup_interval=None)


def ask(client: Client, question: str, times: int = 1) -> None:
    for _ in range(times):
        client.chat("mock", [{"role": "user", "content": question}])


@pytest.fixture
def strategy(clock: FakeClock) -> ProductionStrategy:
    return ProductionStrategy(memory(clock))


@pytest.fixture
def client(strategy: ProductionStrategy) -> Iterator[Client]:
    with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
        yield client


class ArchiveStore(MemoryStore):
    """A store class of the user's own: health names it by its class."""


class PingedStore(MemoryStore):
    """An in-memory store that offers ``ping()``, answering or raising as the test says."""

    def __init__(self, clock: FakeClock, error: Exception | None = None) -> None:
        super().__init__(clock=clock, cleanup_interval=None)
        self.error = error
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        if self.error is not None:
            raise self.error


class TestNames:
    """Stores are named by kind; a tiered store by its tiers."""

    def test_a_lone_store_is_named_by_its_kind(self, clock: FakeClock) -> None:
        assert list(ProductionStrategy(memory(clock)).health()) == ["memory"]

    def test_a_tiered_store_is_its_two_tiers(self, clock: FakeClock) -> None:
        tiered = TieredStore(memory(clock), ArchiveStore(clock=clock, cleanup_interval=None))
        assert list(ProductionStrategy(tiered).health()) == ["l1:memory", "l2:archive"]

    def test_a_store_of_ones_own_is_named_by_its_class(self, clock: FakeClock) -> None:
        store = ArchiveStore(clock=clock, cleanup_interval=None)
        assert list(ProductionStrategy(store).health()) == ["archive"]


class TestMemoryStore:
    """A memory store always answers, with no breaker nor error; its hit rate is the strategy's."""

    def test_it_answers_with_no_breaker_and_no_error(self, strategy: ProductionStrategy) -> None:
        health = strategy.health()["memory"]
        assert (health["ok"], health["breaker"], health["last_error"]) == (True, None, None)

    def test_the_hit_rate_counts_each_call_once(
        self, strategy: ProductionStrategy, client: Client
    ) -> None:
        ask(client, "capital of France?", times=4)  # one miss, three hits
        health = strategy.health()["memory"]
        # The leader's second look at the store is no second miss.
        assert (health["hit_rate"], health["lookups"]) == (0.75, 4)
        assert health["hit_rate"] == strategy.stats().hit_rate

    def test_without_a_call_there_is_no_hit_rate(self, strategy: ProductionStrategy) -> None:
        health = strategy.health()["memory"]
        assert (health["hit_rate"], health["lookups"]) == (None, 0)

    def test_the_mapping_holds_plain_values_only(
        self, strategy: ProductionStrategy, client: Client
    ) -> None:
        ask(client, "capital of France?", times=2)
        health = strategy.health()
        assert set(health["memory"]) == {
            "ok",
            "breaker",
            "hit_rate",
            "lookups",
            "window_s",
            "last_error",
        }
        assert all(
            value is None or type(value) in (bool, int, float)
            for value in health["memory"].values()
        )


class TestWindow:
    """The hit rate covers the last window only, sampled at each call of health()."""

    def test_the_first_report_covers_everything_counted(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        ask(client, "a", times=2)
        clock.tick(3600)
        health = strategy.health()["memory"]
        assert (health["hit_rate"], health["lookups"], health["window_s"]) == (0.5, 2, None)

    def test_a_later_report_covers_the_calls_since_the_earlier_one(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        ask(client, "a", times=2)  # a miss and a hit, before
        strategy.health()
        clock.tick(60)
        ask(client, "a", times=3)
        health = strategy.health()["memory"]
        assert (health["hit_rate"], health["lookups"], health["window_s"]) == (1.0, 3, 60.0)

    def test_calls_older_than_the_window_drop_out(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        strategy.health()
        ask(client, "a")
        ask(client, "b")  # two misses in the first five minutes
        clock.tick(300)
        assert strategy.health()["memory"]["hit_rate"] == 0.0
        ask(client, "a", times=2)  # two hits in the next five
        clock.tick(300)
        health = strategy.health()["memory"]
        assert (health["hit_rate"], health["lookups"], health["window_s"]) == (1.0, 2, 300.0)

    def test_after_a_silence_longer_than_the_window_the_report_says_what_it_covers(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        strategy.health()
        ask(client, "a", times=3)
        clock.tick(900)  # nobody asked for health for a quarter of an hour
        health = strategy.health()["memory"]
        assert (health["hit_rate"], health["lookups"], health["window_s"]) == (2 / 3, 3, 900.0)

    def test_a_window_without_a_call_has_no_hit_rate(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        ask(client, "a", times=3)
        strategy.health()
        clock.tick(301)
        health = strategy.health()["memory"]
        assert (health["hit_rate"], health["lookups"]) == (None, 0)

    def test_a_window_of_ones_own(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        strategy.health(window=60)
        ask(client, "a")  # a miss, more than a minute ago
        clock.tick(61)
        strategy.health(window=60)
        ask(client, "a")
        clock.tick(30)
        health = strategy.health(window=60)["memory"]
        assert (health["hit_rate"], health["lookups"], health["window_s"]) == (1.0, 1, 30.0)
        # The default window keeps samples of its own: it still sees the miss.
        assert strategy.health()["memory"]["lookups"] == 2

    def test_samples_stay_few_however_often_health_is_asked_for(self) -> None:
        window = HitRateWindow(60)
        at, hits = 0.0, 0
        for _ in range(10_000):
            at, hits = at + 0.1, hits + 1
            rate = window.observe(at, hits, 0)
        assert len(window) <= 62
        assert rate.span is not None
        # Exact to the resolution (a sixtieth of the window) despite the thinning.
        assert 59.0 - 1e-9 <= rate.span <= 60.0
        assert rate.lookups == round(rate.span * 10)

    @pytest.mark.parametrize("window", [0, -5, float("nan"), "300"])
    def test_a_bad_window_is_refused_by_name(
        self, strategy: ProductionStrategy, window: Any
    ) -> None:
        with pytest.raises(ValidationError, match=r"^health window must be"):
            strategy.health(window=window)


class TestTieredStore:
    """L1 is reached by every call, L2 by the calls L1 did not answer."""

    def test_each_tier_answers_its_share(self, clock: FakeClock) -> None:
        l1, l2 = memory(clock), memory(clock)
        strategy = ProductionStrategy(TieredStore(l1, l2))
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            ask(client, "a")  # a miss in both
            ask(client, "a")  # L1
            l1.clear()
            ask(client, "a")  # L2, promoted into L1
            ask(client, "a")  # L1
        health = strategy.health()
        assert (health["l1:memory"]["hit_rate"], health["l1:memory"]["lookups"]) == (0.5, 4)
        assert (health["l2:memory"]["hit_rate"], health["l2:memory"]["lookups"]) == (0.5, 2)

    def test_each_tier_is_probed(self, clock: FakeClock, errors: list[Report]) -> None:
        down = PingedStore(clock, ConnectionRefusedError("l2 is down"))
        up = PingedStore(clock)
        health = ProductionStrategy(TieredStore(up, down)).health()
        assert (health["l1:pinged"]["ok"], health["l2:pinged"]["ok"]) == (True, False)
        assert (up.pings, down.pings) == (1, 1)


class TestProbes:
    """A store's ``ping()`` says whether it answers; one that raises is reported, never raised."""

    def test_a_store_that_answers_its_ping_is_ok(self, clock: FakeClock) -> None:
        store = PingedStore(clock)
        assert ProductionStrategy(store).health()["pinged"]["ok"] is True
        assert store.pings == 1

    def test_a_failed_ping_is_the_last_error_and_is_reported(
        self, clock: FakeClock, errors: list[Report]
    ) -> None:
        store = PingedStore(clock, ConnectionRefusedError("nobody home"))
        health = ProductionStrategy(store).health()["pinged"]
        assert health["ok"] is False
        error = health["last_error"]
        assert (error["reason"], error["type"], error["message"]) == (
            "health_check",
            "ConnectionRefusedError",
            "nobody home",
        )
        assert [metadata["reason"] for _, metadata in errors] == ["health_check"]


class TestAsync:
    """``ahealth()`` says what ``health()`` says, without blocking the event loop."""

    def test_it_says_what_health_says(self, clock: FakeClock) -> None:
        store = PingedStore(clock)
        # Two strategies over one store: each one's first report, alike.
        first, second = ProductionStrategy(store), ProductionStrategy(store)

        async def both() -> tuple[Any, Any]:
            return await first.ahealth(), second.health()

        in_async, sync = asyncio.run(both())
        assert in_async == sync
        assert store.pings == 2


def error_of(health: Mapping[str, Any]) -> dict[str, Any]:
    error = health["last_error"]
    assert isinstance(error, dict)
    return error


class TestDiskStore:
    """A disk store answers while its database reads; a damaged one does not, and says why."""

    def test_a_working_store_answers_with_a_closed_breaker(
        self, tmp_path: Path, clock: FakeClock
    ) -> None:
        store = DiskStore(tmp_path, clock=clock)
        strategy = ProductionStrategy(store)
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            ask(client, "a", times=3)
        health = strategy.health()
        store.close()
        assert list(health) == ["disk"]
        disk = health["disk"]
        assert (disk["ok"], disk["breaker"], disk["last_error"]) == (True, "closed", None)
        assert (disk["hit_rate"], disk["lookups"]) == (2 / 3, 3)

    def test_a_damaged_database_is_not_ok_and_opens_the_breaker(
        self, tmp_path: Path, clock: FakeClock, errors: list[Report]
    ) -> None:
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database, it is a list" * 100)
        store = DiskStore(tmp_path, clock=clock)
        strategy = ProductionStrategy(store)
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            for question in "abc":  # each a failure: the default breaker opens at three
                ask(client, question)
        disk = strategy.health()["disk"]
        store.close()
        assert (disk["ok"], disk["breaker"]) == (False, "open")
        error = error_of(disk)
        assert (error["reason"], error["type"]) == ("health_check", "DatabaseError")
        assert "not a database" in error["message"]
        assert "corrupt" in [metadata["reason"] for _, metadata in errors]


class TestRedisStore:
    """A Redis store answers a PING; a server that is down is not ok, its breaker opens, and why."""

    def test_a_running_server_answers(self, redis_url: str, clock: FakeClock) -> None:
        store = RedisStore(redis_url, "health", clock=clock, timeout=5.0)
        strategy = ProductionStrategy(store)
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            ask(client, "a", times=4)
        health = strategy.health()
        store.close()
        assert list(health) == ["redis"]
        redis = health["redis"]
        assert (redis["ok"], redis["breaker"], redis["last_error"]) == (True, "closed", None)
        assert (redis["hit_rate"], redis["lookups"]) == (0.75, 4)

    def test_a_server_that_went_down(
        self, private_redis: RedisServer, clock: FakeClock, errors: list[Report]
    ) -> None:
        url = private_redis.url.replace("redis://", "redis://default:s3cret-pass@")
        store = RedisStore(url, "health", clock=clock)
        strategy = ProductionStrategy(store)
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            ask(client, "a")  # answered, and stored, while the server runs
            private_redis.kill()
            for question in "bcd":  # each a failure: the default breaker opens at three
                ask(client, question)
        redis = strategy.health()["redis"]
        store.close()
        assert (redis["ok"], redis["breaker"]) == (False, "open")
        error = error_of(redis)
        assert error["reason"] == "health_check"
        assert error["type"] == "ConnectionError"
        assert str(private_redis.port) in error["message"]
        assert "s3cret-pass" not in repr(redis)
        reasons = [metadata["reason"] for _, metadata in errors]
        assert reasons[-1] == "health_check"
        assert "breaker_open" in reasons

    def test_a_server_back_up_answers_before_the_breaker_closes(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        store = RedisStore(private_redis.url, "health", clock=clock)
        strategy = ProductionStrategy(store)
        private_redis.kill()
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            for question in "abc":
                ask(client, question)
        private_redis.start()
        redis = strategy.health()["redis"]
        store.close()
        # The probe runs outside the breaker: it tells that the server is back,
        # and leaves live traffic to close the breaker by itself.
        assert (redis["ok"], redis["breaker"]) == (True, "open")
        error = error_of(redis)
        assert error["reason"] in {"connection", "timeout"}
        assert store.breaker.state == "open"

    def test_a_tiered_store_names_and_probes_each_tier(
        self, redis_url: str, clock: FakeClock
    ) -> None:
        l2 = RedisStore(redis_url, "health", clock=clock, timeout=5.0)
        strategy = ProductionStrategy(TieredStore(memory(clock), l2))
        health = strategy.health()
        l2.close()
        assert list(health) == ["l1:memory", "l2:redis"]
        assert (health["l1:memory"]["breaker"], health["l2:redis"]["breaker"]) == (None, "closed")
        assert health["l2:redis"]["ok"] is True


class BrokenStore(PingedStore):
    """A ``PingedStore`` with a circuit breaker of its own, on the test's clock."""

    def __init__(self, clock: FakeClock, error: Exception | None = None) -> None:
        super().__init__(clock, error)
        self.breaker = CircuitBreaker(clock=clock, name="broken")


class TestLastError:
    """The last error says what, why and when, and how long ago by the breaker's clock."""

    def test_a_failed_ping_of_a_store_without_a_breaker_is_dated_now(
        self, clock: FakeClock, errors: list[Report]
    ) -> None:
        store = PingedStore(clock, ConnectionRefusedError("nobody home"))
        before = time.time()
        error = error_of(ProductionStrategy(store).health()["pinged"])
        assert before <= error.pop("at") <= time.time()
        assert error == {
            "reason": "health_check",
            "type": "ConnectionRefusedError",
            "message": "nobody home",
            "age_s": 0.0,
        }
        (metadata,) = [metadata for _, metadata in errors]
        assert (metadata["store"], metadata["error"]) == (
            "PingedStore",
            "ConnectionRefusedError: nobody home",
        )

    def test_the_age_grows_with_the_breakers_clock(self, clock: FakeClock) -> None:
        clock.tick(1000)
        store = BrokenStore(clock, ConnectionRefusedError("nobody home"))
        strategy = ProductionStrategy(store)
        first = strategy.health()["broken"]
        assert first["ok"] is False
        assert error_of(first)["age_s"] == 0.0
        store.error = None  # it answers again; its last error stays, and ages
        clock.tick(5)
        later = strategy.health()["broken"]
        assert later["ok"] is True
        assert later["breaker"] == "closed"
        assert error_of(later)["age_s"] == 5.0
        assert error_of(later)["at"] == error_of(first)["at"]


class TestHealthOf:
    """``health_of`` probes one store and names it as told."""

    def test_it_names_the_store_as_told(self, clock: FakeClock) -> None:
        rate = HitRate(1, 2, None)
        assert health_of(memory(clock), "primary", rate).name == "primary"
        failing = PingedStore(clock, ConnectionRefusedError("down"))
        assert health_of(failing, "primary", rate).name == "primary"
        assert health_of(BrokenStore(clock), "primary", rate).name == "primary"


class TestWindowPerStore:
    """Each store (each tier) keeps its own window: one tier's figures never mix with another's."""

    def test_a_later_report_covers_each_tiers_own_calls(self, clock: FakeClock) -> None:
        l1, l2 = memory(clock), memory(clock)
        strategy = ProductionStrategy(TieredStore(l1, l2))
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            ask(client, "a")  # a miss in both
            ask(client, "a")  # L1
            strategy.health()
            clock.tick(10)
            l1.clear()
            ask(client, "a")  # L2, promoted into L1
            ask(client, "a")  # L1
        health = strategy.health()
        assert (health["l1:memory"]["hit_rate"], health["l1:memory"]["lookups"]) == (0.5, 2)
        assert (health["l2:memory"]["hit_rate"], health["l2:memory"]["lookups"]) == (1.0, 1)
        assert health["l1:memory"]["window_s"] == health["l2:memory"]["window_s"] == 10.0


class SlottedStrategy:
    """A strategy that cannot be weakly referenced: it has slots and no ``__weakref__``."""

    __slots__ = ("_inner",)

    def __init__(self, inner: ProductionStrategy) -> None:
        self._inner = inner

    @property
    def store(self) -> Any:
        return self._inner.store

    def stats(self) -> Any:
        return self._inner.stats()


class TestUnreferenceableStrategy:
    """A strategy that cannot be weakly referenced keeps no samples: each report covers all."""

    def test_every_report_covers_everything_counted(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        slotted = SlottedStrategy(strategy)
        ask(client, "a", times=2)
        assert strategy_health(slotted)["memory"]["lookups"] == 2
        clock.tick(10)
        ask(client, "a")
        health = strategy_health(slotted)["memory"]
        assert (health["lookups"], health["window_s"]) == (3, None)


class TestAsyncWindow:
    """``ahealth(window=...)`` reports over the window it is given."""

    async def test_a_window_of_ones_own(
        self, strategy: ProductionStrategy, client: Client, clock: FakeClock
    ) -> None:
        await strategy.ahealth(window=60)
        ask(client, "a")  # a miss, more than a minute ago
        clock.tick(61)
        await strategy.ahealth(window=60)
        ask(client, "a")
        clock.tick(30)
        health = (await strategy.ahealth(window=60))["memory"]
        assert (health["hit_rate"], health["lookups"], health["window_s"]) == (1.0, 1, 30.0)


class TestHitRateWindowEdges:
    """``HitRateWindow``: counters or a clock that go back start it over; the edges are exact."""

    @pytest.mark.parametrize(
        ("later", "expected"),
        [
            ((20.0, 2, 9), HitRate(2, 11, None)),  # hits went back
            ((20.0, 9, 2), HitRate(9, 11, None)),  # misses went back
            ((5.0, 9, 9), HitRate(9, 18, None)),  # the clock went back
        ],
        ids=["hits", "misses", "clock"],
    )
    def test_anything_going_back_starts_over(
        self, later: tuple[float, int, int], expected: HitRate
    ) -> None:
        """A reset store (or a restarted clock): the report covers everything counted since."""
        window = HitRateWindow(60)
        window.observe(10.0, 5, 5)
        assert window.observe(*later) == expected

    def test_a_second_look_at_the_same_time_covers_nothing_new(self) -> None:
        window = HitRateWindow(60)
        window.observe(10.0, 1, 1)
        assert window.observe(10.0, 2, 2) == HitRate(1, 2, 0.0)

    def test_a_sample_exactly_a_window_old_is_still_the_baseline(self) -> None:
        window = HitRateWindow(60)
        window.observe(0.0, 0, 0)
        window.observe(30.0, 1, 0)
        assert window.observe(60.0, 2, 0) == HitRate(2, 2, 60.0)

    def test_a_sample_too_close_to_the_one_before_replaces_the_newest(self) -> None:
        """Kept samples are a sixtieth of the window apart: here one second."""
        window = HitRateWindow(60)
        window.observe(0.0, 0, 0)
        window.observe(0.5, 1, 0)
        window.observe(0.7, 2, 0)  # 0.5 was too close to 0.0: 0.7 takes its place
        assert len(window) == 2

    def test_a_sample_exactly_the_resolution_apart_is_kept(self) -> None:
        window = HitRateWindow(60)
        window.observe(0.0, 0, 0)
        window.observe(1.0, 1, 0)
        window.observe(1.5, 2, 0)  # 1.0 is a full second after 0.0: it stays
        assert len(window) == 3
