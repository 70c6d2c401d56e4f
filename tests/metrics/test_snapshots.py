"""SnapshotRecorder: the cache's counters from the telemetry bus, appended to a file over time."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from exllm_py import Client, MockProvider, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.metrics.labels import MAX_MODELS, OTHER
from exllm_py.metrics.snapshot_format import FORMAT, Counters, ModelCounts, Snapshot
from exllm_py.metrics.snapshots import SnapshotRecorder
from tests.clocks import FakeClock
from tests.fakes.provider_server import ProviderServer

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
OTHER_QUESTION = [{"role": "user", "content": "And of Italy?"}]


class Beats:
    """A ``wait`` for the recorder's thread that returns when the test beats: one beat, one line.

    :meth:`beat` lets the thread go once and returns when the thread is back
    waiting, so the line it wrote is on disk by then.
    """

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self._changed = threading.Condition()
        self._arrivals = 0
        self._pending = 0

    def __call__(self, interval: float, closing: threading.Event) -> bool:
        with self._changed:
            self.intervals.append(interval)
            self._arrivals += 1
            self._changed.notify_all()
            while not closing.is_set() and not self._pending:
                # close() sets `closing` without telling this condition: look again now and then.
                self._changed.wait(0.05)
            if closing.is_set():
                return True
            self._pending -= 1
            return False

    def beat(self) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._arrivals >= 1, timeout=10)
            target = self._arrivals + 1
            self._pending += 1
            self._changed.notify_all()
            assert self._changed.wait_for(lambda: self._arrivals >= target, timeout=10), (
                "the recorder's thread did not come back from writing a line"
            )


def lines(path: Path) -> list[Snapshot]:
    return [Snapshot.from_json(orjson.loads(line)) for line in path.read_bytes().splitlines()]


def recorders_attached() -> list[str]:
    return [name for name in telemetry.handlers() if name.startswith("exllm-snapshots-")]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make() -> Iterator[Callable[..., SnapshotRecorder]]:
    """Build recorders that are closed after the test, whatever it did."""
    made: list[SnapshotRecorder] = []

    def build(*args: Any, **kwargs: Any) -> SnapshotRecorder:
        made.append(SnapshotRecorder(*args, **kwargs))
        return made[-1]

    yield build
    for recorder in made:
        recorder.close()


@pytest.fixture
def recorder(
    tmp_path: Path, clock: FakeClock, make: Callable[..., SnapshotRecorder]
) -> SnapshotRecorder:
    return make(tmp_path / "snapshots.jsonl", interval=None, clock=clock)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


class TestCounting:
    """Real calls' hits, misses and puts are counted, and each model's hits and what they saved."""

    def test_calls_through_a_client_are_counted_per_model(
        self, recorder: SnapshotRecorder, server: ProviderServer
    ) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            options = {"model": "gpt-4o-mini", "base_url": server.url, "api_key": "test-key"}
            paid = client.chat("openai", QUESTION, **options)
            hits = [client.chat("openai", QUESTION, **options) for _ in range(3)]
            client.chat("mock", QUESTION, model="mock-1")
            client.chat("mock", QUESTION, model="mock-1")
        assert paid.cost is not None
        assert paid.cost > 0
        assert all(hit.metadata["from_cache"] for hit in hits)
        counted = recorder.counters()
        stats = strategy.stats()
        assert (counted.hits, counted.misses, counted.puts) == (stats.hits, stats.misses, 2)
        assert counted.models["openai/gpt-4o-mini"].hits == 3
        assert counted.models["openai/gpt-4o-mini"].saved_cost_usd == pytest.approx(3 * paid.cost)
        assert counted.models["mock/mock-1"] == ModelCounts(hits=1, saved_cost_usd=0.0)
        assert counted.saved_cost_usd == pytest.approx(3 * paid.cost)

    def test_counts_are_exact_when_threads_report_at_once(self, recorder: SnapshotRecorder) -> None:
        threads, each = 8, 500
        start = threading.Barrier(threads)

        def report(number: int) -> None:
            start.wait()
            for _ in range(each):
                telemetry.emit(
                    telemetry.CACHE_HIT,
                    {"duration_ns": 1, "saved_cost_usd": 0.25},
                    {"key": "k", "provider": "p", "model": f"m{number % 2}", "namespace": None},
                )
                telemetry.emit(telemetry.CACHE_MISS, {"duration_ns": 1}, {"key": "k"})

        workers = [threading.Thread(target=report, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        counted = recorder.counters()
        assert (counted.hits, counted.misses) == (threads * each, threads * each)
        assert counted.saved_cost_usd == threads * each * 0.25
        assert counted.models == {
            "p/m0": ModelCounts(threads * each // 2, threads * each // 2 * 0.25),
            "p/m1": ModelCounts(threads * each // 2, threads * each // 2 * 0.25),
        }

    def test_model_names_past_the_cap_are_counted_as_other(
        self, recorder: SnapshotRecorder
    ) -> None:
        for number in range(MAX_MODELS + 5):
            telemetry.emit(
                telemetry.CACHE_HIT,
                {"duration_ns": 1, "saved_cost_usd": 0.5},
                {"key": "k", "provider": "p", "model": f"m{number}", "namespace": None},
            )
        models = recorder.counters().models
        assert len(models) == MAX_MODELS + 1
        assert models[OTHER] == ModelCounts(hits=5, saved_cost_usd=2.5)
        assert sum(m.hits for m in models.values()) == MAX_MODELS + 5

    def test_a_hit_without_a_price_saved_nothing(self, recorder: SnapshotRecorder) -> None:
        for saved in (None, math.nan, "0.1"):
            telemetry.emit(
                telemetry.CACHE_HIT,
                {"duration_ns": 1, "saved_cost_usd": saved},
                {"key": "k", "provider": "p", "model": "m", "namespace": None},
            )
        assert recorder.counters().models["p/m"] == ModelCounts(hits=3, saved_cost_usd=0.0)


class TestEvictions:
    """Evictions are counted per reason, as the store reports them."""

    def test_lru_ttl_and_explicit_evictions(
        self, recorder: SnapshotRecorder, clock: FakeClock
    ) -> None:
        strategy = ProductionStrategy(
            MemoryStore(max_entries=1, clock=clock, cleanup_interval=None)
        )
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            client.chat("mock", QUESTION, cache_ttl=10)
            client.chat("mock", OTHER_QUESTION, cache_ttl=10)  # pushes the first one out
            clock.tick(11)
            client.chat("mock", OTHER_QUESTION, cache_ttl=10)  # expired: found and dropped
            strategy.invalidate(provider="mock")
        assert recorder.counters().evictions == {"lru": 1, "ttl": 1, "explicit": 1}


class TestLines:
    """Each line holds the counts so far, stamped by the recorder's clock and name."""

    def test_write_appends_the_counts_at_the_clocks_time(
        self, recorder: SnapshotRecorder, clock: FakeClock
    ) -> None:
        with Client(cache_strategy=ProductionStrategy(MemoryStore()), mock=MockProvider()) as c:
            c.chat("mock", QUESTION)
            recorder.write()
            clock.tick(60)
            c.chat("mock", QUESTION)
            recorder.write()
        first, second = lines(recorder.path)
        assert (first.at, second.at) == (clock.now - 60, clock.now)
        assert (first.counters.hits, first.counters.misses) == (0, 1)
        assert (second.counters.hits, second.counters.misses) == (1, 1)
        assert first.recorder == second.recorder == recorder.name

    def test_a_line_is_the_documented_json(self, recorder: SnapshotRecorder) -> None:
        recorder.write()
        document = orjson.loads(recorder.path.read_bytes())
        assert set(document) == {
            "format",
            "recorder",
            "at",
            "hits",
            "misses",
            "puts",
            "saved_cost_usd",
            "evictions",
            "models",
        }
        assert document["format"] == FORMAT

    def test_a_written_snapshot_reads_back_equal(self) -> None:
        snapshot = Snapshot(
            at=1_700_000_000.5,
            counters=Counters(
                4, 2, 2, 0.25, {"lru": 3}, {"openai/gpt-4o-mini": ModelCounts(4, 0.25)}
            ),
            recorder="r1",
        )
        assert Snapshot.from_json(orjson.loads(snapshot.to_line())) == snapshot

    def test_two_recorders_can_share_a_file(self, tmp_path: Path, clock: FakeClock) -> None:
        path = tmp_path / "shared.jsonl"
        with (
            SnapshotRecorder(path, interval=None, clock=clock) as one,
            SnapshotRecorder(path, interval=None, clock=clock) as two,
        ):
            for _ in range(3):
                one.write()
                two.write()
        written = lines(path)
        assert len(written) == 8  # three each, and one each on close
        assert {s.recorder for s in written} == {one.name, two.name}
        assert one.name != two.name


class TestThread:
    """The thread appends a line every interval; close() appends the last one."""

    def test_a_line_per_interval_then_one_on_close(
        self, tmp_path: Path, clock: FakeClock, make: Callable[..., SnapshotRecorder]
    ) -> None:
        beats = Beats()
        recorder = make(tmp_path / "s.jsonl", interval=30, clock=clock, wait=beats)
        beats.beat()
        telemetry.emit(telemetry.CACHE_PUT, {"size_bytes": 1, "ttl_s": 1}, {"key": "k"})
        clock.tick(30)
        beats.beat()
        assert [s.counters.puts for s in lines(recorder.path)] == [0, 1]
        recorder.close()
        written = lines(recorder.path)
        assert len(written) == 3
        assert beats.intervals[0] == 30
        assert [s.at for s in written] == [clock.now - 30, clock.now, clock.now]

    def test_a_line_that_cannot_be_written_is_skipped_and_the_next_has_every_count(
        self, tmp_path: Path, make: Callable[..., SnapshotRecorder]
    ) -> None:
        beats = Beats()
        path = tmp_path / "s.jsonl"
        recorder = make(path, interval=5, wait=beats)
        path.unlink()
        path.mkdir()  # where the file should be, a directory: appending fails
        telemetry.emit(telemetry.CACHE_MISS, {"duration_ns": 1}, {"key": "k"})
        beats.beat()
        assert isinstance(recorder.last_error, IsADirectoryError)
        path.rmdir()
        telemetry.emit(telemetry.CACHE_MISS, {"duration_ns": 1}, {"key": "k"})
        beats.beat()
        recorder.close()
        assert [s.counters.misses for s in lines(path)] == [2, 2]


class TestClose:
    """close() detaches from the bus, stops the thread, and does nothing the second time."""

    def test_close_detaches_and_stops_counting(
        self, tmp_path: Path, make: Callable[..., SnapshotRecorder]
    ) -> None:
        recorder = make(tmp_path / "s.jsonl", interval=3600)
        assert recorders_attached() == [f"exllm-snapshots-{recorder.name}"]
        recorder.close()
        telemetry.emit(telemetry.CACHE_MISS, {"duration_ns": 1}, {"key": "k"})
        assert recorder.counters().misses == 0
        assert recorder.closed
        assert not recorders_attached()
        assert not [t for t in threading.enumerate() if t.name.endswith(recorder.name)]

    def test_a_second_close_writes_nothing(
        self, tmp_path: Path, make: Callable[..., SnapshotRecorder]
    ) -> None:
        recorder = make(tmp_path / "s.jsonl", interval=None)
        recorder.close()
        recorder.close()
        assert len(lines(recorder.path)) == 1


class TestArguments:
    """Bad arguments fail in the caller, with a message naming what to fix."""

    @pytest.mark.parametrize("interval", [0, -1, math.inf, math.nan])
    def test_an_interval_must_be_positive_and_finite(self, tmp_path: Path, interval: float) -> None:
        with pytest.raises(ValueError, match="SnapshotRecorder interval must be positive"):
            SnapshotRecorder(tmp_path / "s.jsonl", interval=interval)
        assert not recorders_attached()

    def test_a_path_that_cannot_be_appended_to_fails_at_once(self, tmp_path: Path) -> None:
        with pytest.raises(IsADirectoryError):
            SnapshotRecorder(tmp_path, interval=None)
        assert not recorders_attached()

    def test_the_parent_directory_is_created(self, tmp_path: Path) -> None:
        with SnapshotRecorder(tmp_path / "a" / "b" / "s.jsonl", interval=None) as recorder:
            pass
        assert len(lines(recorder.path)) == 1
