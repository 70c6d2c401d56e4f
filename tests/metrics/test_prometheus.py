"""The Prometheus bridge: real calls through the cache, a real registry scraped and parsed back."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

import exllm_py
from exllm_py import telemetry
from exllm_py.cache import DiskStore, MemoryStore, ProductionStrategy, RedisStore, TieredStore
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from exllm_py.errors import ConfigurationError, RecordingNotFound, ValidationError
from exllm_py.metrics import prometheus
from exllm_py.metrics.labels import MAX_MODELS, OTHER
from exllm_py.pipeline.retry import RetryPolicy
from exllm_py.providers.mock import MockProvider
from exllm_py.testing.strategy import TestStrategy, use_cassette
from exllm_py.types import LLMResponse
from tests.fakes.payloads import openai_error
from tests.fakes.provider_server import ProviderServer, json_reply
from tests.redis_server import RedisServer

REPOSITORY = Path(__file__).resolve().parents[2]
MOCK = {"provider": "mock", "model": "mock-1"}


class Scrape:
    """One scrape of a registry, read back through ``prometheus_client``'s own parser."""

    def __init__(self, registry: CollectorRegistry) -> None:
        text = generate_latest(registry).decode()
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def value(self, sample: str, /, **labels: str) -> float | None:
        """The sample named ``sample`` with exactly these labels, or None when there is none."""
        found = [s.value for s in self.samples if s.name == sample and s.labels == labels]
        assert len(found) <= 1, f"{sample}{labels} appears {len(found)} times"
        return found[0] if found else None

    def series(self, name: str) -> list[dict[str, str]]:
        return [s.labels for s in self.samples if s.name == name]

    def total(self, name: str) -> float:
        return sum(s.value for s in self.samples if s.name == name)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Iterator[prometheus.PrometheusMetrics]:
    handle = prometheus.install(registry)
    yield handle
    handle.uninstall()


def ask(client: exllm_py.Client, text: str, model: str = "mock-1", **options: Any) -> LLMResponse:
    return client.chat("mock", [{"role": "user", "content": text}], model=model, **options)


ClientFactory = Callable[..., exllm_py.Client]


@pytest.fixture
def cached_client() -> Iterator[ClientFactory]:
    """Makes Clients over a ProductionStrategy of the store given (closed after the test)."""
    made: list[exllm_py.Client] = []

    def make(store: Any = None, **options: Any) -> exllm_py.Client:
        made.append(exllm_py.Client(cache_strategy=ProductionStrategy(store), **options))
        return made[-1]

    yield make
    for client in made:
        client.close()


class TestCacheCounters:
    """Hits, misses, puts and evictions count what the cache did, by provider and model."""

    def test_a_known_sequence_is_counted_as_the_strategy_counts_it(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """One entry of room, asked a, a, b, a: one hit, three misses and puts, two evictions."""
        client = cached_client(MemoryStore(max_entries=1))
        for text in ("a", "a", "b", "a"):
            ask(client, text)
        scrape = Scrape(registry)
        stats = client.cache_strategy.stats()
        assert isinstance(stats, CacheStats)
        assert (stats.hits, stats.misses, stats.puts, stats.evictions) == (1, 3, 3, 2)
        assert scrape.value("exllm_cache_hits_total", **MOCK, tier="") == stats.hits
        assert scrape.value("exllm_cache_misses_total", **MOCK) == stats.misses
        assert scrape.value("exllm_cache_puts_total", **MOCK) == stats.puts
        evicted = scrape.value("exllm_cache_evictions_total", store="memory", reason="lru")
        assert evicted == stats.evictions

    async def test_async_calls_are_counted_alike(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """achat() goes through the same strategy: one miss, then hits."""
        client = cached_client()
        question = [{"role": "user", "content": "async"}]
        for _ in range(3):
            await client.achat("mock", question, model="mock-1")
        scrape = Scrape(registry)
        assert scrape.value("exllm_cache_misses_total", **MOCK) == 1
        assert scrape.value("exllm_cache_hits_total", **MOCK, tier="") == 2

    def test_streams_are_counted_like_calls(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """A stream stored once and replayed once: a miss, a put and a hit."""
        client = cached_client()
        question = [{"role": "user", "content": "streamed"}]
        for _ in range(2):
            assert list(client.stream("mock", question, model="mock-1"))
        scrape = Scrape(registry)
        assert scrape.value("exllm_cache_misses_total", **MOCK) == 1
        assert scrape.value("exllm_cache_puts_total", **MOCK) == 1
        assert scrape.value("exllm_cache_hits_total", **MOCK, tier="") == 1

    def test_models_are_series_apart(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """The same question to two models: a miss each, labelled by model."""
        client = cached_client()
        for model in ("mock-1", "mock-2", "mock-2"):
            ask(client, "same", model=model)
        scrape = Scrape(registry)
        assert scrape.value("exllm_cache_misses_total", provider="mock", model="mock-1") == 1
        assert scrape.value("exllm_cache_misses_total", provider="mock", model="mock-2") == 1
        assert scrape.value("exllm_cache_hits_total", provider="mock", model="mock-2", tier="") == 1
        assert (
            scrape.value("exllm_cache_hits_total", provider="mock", model="mock-1", tier="") is None
        )

    def test_a_delete_is_an_explicit_eviction(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """Removing an entry by hand is counted under reason explicit."""
        store = MemoryStore()
        client = cached_client(store)
        ask(client, "to remove")
        key = ask(client, "to remove").metadata["cache_key"]  # a hit says its key
        assert store.delete(key)
        evicted = Scrape(registry).value(
            "exllm_cache_evictions_total", store="memory", reason="explicit"
        )
        assert evicted == 1


class TestSavedCost:
    """The saved cost adds up, per hit, what the answer cost when it was bought."""

    def test_each_hit_saves_the_price_of_the_miss(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """A priced model over real HTTP: three hits save three times the first call's cost."""
        client = cached_client()
        question = [{"role": "user", "content": "what does this cost?"}]
        with ProviderServer() as server:
            options = {"model": "gpt-4o-mini", "base_url": server.url, "api_key": "test-key"}
            bought = client.chat("openai", question, **options)
            hits = [client.chat("openai", question, **options) for _ in range(3)]
        assert bought.cost is not None
        assert bought.cost > 0
        assert all(hit.metadata["from_cache"] for hit in hits)
        saved = Scrape(registry).value(
            "exllm_cache_saved_cost_usd_total", provider="openai", model="gpt-4o-mini", tier=""
        )
        assert saved == pytest.approx(3 * bought.cost)


class TestLatencyHistograms:
    """A hit's lookup and a miss's provider call land in histograms with buckets for each."""

    def test_every_hit_is_observed_in_the_microsecond_buckets(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """Five hits from memory: five observations, all below 100 ms, none below zero."""
        client = cached_client()
        for _ in range(6):
            ask(client, "timed")
        scrape = Scrape(registry)
        name = "exllm_cache_hit_duration_seconds"
        labels = {"provider": "mock", "tier": ""}
        assert scrape.value(f"{name}_count", **labels) == 5
        assert scrape.value(f"{name}_bucket", **labels, le="0.1") == 5
        assert scrape.value(f"{name}_bucket", **labels, le="+Inf") == 5
        assert 0 < (scrape.value(f"{name}_sum", **labels) or 0) < 0.5
        lowest = min(float(s["le"]) for s in scrape.series(f"{name}_bucket") if s["le"] != "+Inf")
        assert lowest <= 1e-5  # buckets made for microseconds

    def test_a_miss_observes_the_provider_call(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """A provider taking 0.3 s: one observation, of at least that, past the 0.25 s bucket."""
        client = cached_client(mock=MockProvider(latency=0.3))
        ask(client, "slow")
        ask(client, "slow")
        scrape = Scrape(registry)
        name = "exllm_cache_miss_duration_seconds"
        assert scrape.value(f"{name}_count", **MOCK) == 1
        assert scrape.value(f"{name}_bucket", **MOCK, le="0.25") == 0
        assert (scrape.value(f"{name}_sum", **MOCK) or 0) >= 0.3
        hit_sum = scrape.value("exllm_cache_hit_duration_seconds_sum", provider="mock", tier="")
        assert hit_sum is not None
        assert hit_sum < 0.3  # the hit did not wait for the provider


class TestStoreErrors:
    """A failing store is counted by its kind and the reason, and the call still answers."""

    def test_a_redis_server_that_died(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        private_redis: RedisServer,
        cached_client: ClientFactory,
    ) -> None:
        """Redis killed: each connection failure the store reports counts once, as connection."""
        reported = _reported_errors()
        store = RedisStore(private_redis.url)
        with cached_client(store) as client:
            ask(client, "before")
            private_redis.kill()
            answer = ask(client, "after")
        store.close()
        assert not answer.metadata["from_cache"]
        failures = [md for md in reported if md["reason"] == "connection"]
        telemetry.detach("test-errors")
        assert failures
        assert Scrape(registry).value(
            "exllm_cache_errors_total", store="redis", reason="connection"
        ) == len(failures)

    def test_a_disk_file_that_is_not_a_database(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        tmp_path: Path,
        cached_client: ClientFactory,
    ) -> None:
        """A corrupt SQLite file: answered all the same, counted as corrupt, then breaker_open."""
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database at all" * 100)
        with contextlib.closing(DiskStore(tmp_path)) as store:
            assert not ask(cached_client(store), "on a broken disk").metadata["from_cache"]
        scrape = Scrape(registry)
        assert (scrape.value("exllm_cache_errors_total", store="disk", reason="corrupt") or 0) >= 1
        assert scrape.value("exllm_cache_errors_total", store="disk", reason="breaker_open") == 1


def _reported_errors() -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    telemetry.attach("test-errors", [telemetry.CACHE_ERROR], lambda _e, _m, md: seen.append(md))
    return seen


class TestTiers:
    """A TieredStore's hits say which tier answered."""

    def test_l1_and_l2_hits_are_series_apart(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        tmp_path: Path,
        cached_client: ClientFactory,
    ) -> None:
        """A hit from memory is tier l1; after L1 is emptied, the next hit is tier l2."""
        l1 = MemoryStore()
        with contextlib.closing(DiskStore(tmp_path)) as l2:
            client = cached_client(TieredStore(l1, l2))
            ask(client, "tiered")
            ask(client, "tiered")
            l1.clear()
            ask(client, "tiered")
        scrape = Scrape(registry)
        assert scrape.value("exllm_cache_hits_total", **MOCK, tier="l1") == 1
        assert scrape.value("exllm_cache_hits_total", **MOCK, tier="l2") == 1
        seconds = "exllm_cache_hit_duration_seconds_count"
        assert scrape.value(seconds, provider="mock", tier="l2") == 1


class TestCardinality:
    """Labels stay bounded: no namespace unless asked, never the key, a cap on models."""

    def test_namespaces_are_not_a_label_by_default(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """Two tenants' misses add up in one series."""
        client = cached_client()
        for tenant in ("tenant-a", "tenant-b"):
            ask(client, "same", cache_namespace=tenant)
        scrape = Scrape(registry)
        assert scrape.value("exllm_cache_misses_total", **MOCK) == 2
        assert all("namespace" not in labels for labels in scrape.series("exllm_cache_hits_total"))

    def test_namespace_label_is_opt_in(
        self, registry: CollectorRegistry, cached_client: ClientFactory
    ) -> None:
        """namespace_label=True: a series per namespace, the calls without one under ''."""
        client = cached_client()
        with prometheus.install(registry, namespace_label=True):
            for tenant in ("tenant-a", "tenant-b", "tenant-b", None):
                ask(client, "same", cache_namespace=tenant)
            scrape = Scrape(registry)
        misses = "exllm_cache_misses_total"
        assert scrape.value(misses, **MOCK, namespace="tenant-a") == 1
        assert scrape.value(misses, **MOCK, namespace="tenant-b") == 1
        assert scrape.value(misses, **MOCK, namespace="") == 1
        assert scrape.value("exllm_cache_hits_total", **MOCK, namespace="tenant-b", tier="") == 1

    def test_no_series_carries_a_cache_key(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """The key of the answer served appears in no label."""
        client = cached_client()
        ask(client, "keyed")
        key = ask(client, "keyed").metadata["cache_key"]
        for sample in Scrape(registry).samples:
            assert "key" not in sample.labels
            assert key not in sample.labels.values()

    def test_models_past_the_cap_read_other(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """The first 100 models keep their names; the two after them count as other."""
        client = cached_client()
        models = [f"model-{index}" for index in range(MAX_MODELS + 2)]
        for model in models:
            ask(client, "one per model", model=model)
        scrape = Scrape(registry)
        series = scrape.series("exllm_cache_misses_total")
        assert len(series) == MAX_MODELS + 1
        assert {labels["model"] for labels in series} == {*models[:MAX_MODELS], OTHER}
        assert scrape.value("exllm_cache_misses_total", provider="mock", model=OTHER) == 2
        assert scrape.total("exllm_cache_misses_total") == len(models)

    def test_max_models_sets_the_cap(
        self, registry: CollectorRegistry, cached_client: ClientFactory
    ) -> None:
        """max_models=2: the third model's hits and puts count as other too."""
        client = cached_client()
        with prometheus.install(registry, max_models=2):
            for model in ("m1", "m2", "m3", "m3"):
                ask(client, "capped", model=model)
            scrape = Scrape(registry)
        assert scrape.value("exllm_cache_puts_total", provider="mock", model=OTHER) == 1
        assert scrape.value("exllm_cache_hits_total", provider="mock", model=OTHER, tier="") == 1


class CountingStore(MemoryStore):
    """A MemoryStore that counts the calls of its stats()."""

    def __init__(self) -> None:
        super().__init__()
        self.stats_calls = 0

    def stats(self) -> CacheStats:
        self.stats_calls += 1
        return super().stats()


class TestStoreGauges:
    """Watched stores' entries and bytes are read when scraped, and only then."""

    def test_the_gauges_are_the_stores_figures_at_scrape_time(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """Two answers stored, then a third: each scrape reads what the store holds."""
        store = MemoryStore()
        metrics.watch(store, name="answers")
        client = cached_client(store)
        labels = {"store": "memory", "name": "answers"}
        for text in ("one", "two"):
            ask(client, text)
        before = Scrape(registry)
        ask(client, "three")
        after = Scrape(registry)
        assert before.value("exllm_cache_store_entries", **labels) == 2
        assert after.value("exllm_cache_store_entries", **labels) == 3
        assert after.value("exllm_cache_store_bytes", **labels) == store.stats().bytes > 0

    def test_hits_never_read_the_stores(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """A miss and five hits call stats() not once; a scrape calls it once."""
        store = CountingStore()
        metrics.watch(store, name="counted")
        client = cached_client(store)
        for _ in range(6):
            ask(client, "hot")
        assert store.stats_calls == 0
        Scrape(registry)
        assert store.stats_calls == 1

    def test_unwatch_takes_the_series_out(
        self, metrics: prometheus.PrometheusMetrics, registry: CollectorRegistry
    ) -> None:
        """After unwatch() the store's series are gone; a second unwatch() says so."""
        metrics.watch(MemoryStore(), name="gone")
        assert metrics.unwatch("gone") is True
        assert Scrape(registry).series("exllm_cache_store_entries") == []
        assert metrics.unwatch("gone") is False

    def test_a_name_watches_one_store(self, metrics: prometheus.PrometheusMetrics) -> None:
        """Another store under a taken name is refused, naming unwatch()."""
        metrics.watch(MemoryStore(), name="taken")
        with pytest.raises(ValidationError, match=r"unwatch\('taken'\)"):
            metrics.watch(MemoryStore(), name="taken")


class TestTestCache:
    """The test cache's replays, misses, saved cassettes and errors are counted."""

    def test_record_then_replay_then_a_missing_request(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        tmp_path: Path,
        request: pytest.FixtureRequest,
    ) -> None:
        """Recorded once (a miss, a save), replayed (a hit), then an unknown request (an error)."""
        client = exllm_py.Client(cache_strategy=TestStrategy())
        request.addfinalizer(client.close)
        path = tmp_path / "recorded.json"
        with ProviderServer() as server:
            options = {"model": "gpt-4o-mini", "base_url": server.url, "api_key": "test-key"}
            known = [{"role": "user", "content": "recorded"}]
            with use_cassette(path, mode="once"):
                client.chat("openai", known, **options)
            with use_cassette(path, mode="none"):
                assert client.chat("openai", known, **options).metadata["from_cache"]
                unknown = [{"role": "user", "content": "never recorded"}]
                with pytest.raises(RecordingNotFound):
                    client.chat("openai", unknown, **options)
        scrape = Scrape(registry)
        assert scrape.value("exllm_test_cache_hits_total") == 1
        assert scrape.value("exllm_test_cache_misses_total") == 2
        assert scrape.value("exllm_test_cache_saves_total") == 1
        assert scrape.value("exllm_test_cache_errors_total", reason="RecordingNotFound") == 1


class TestRetries:
    """A provider call tried again is counted by provider, model and reason."""

    def test_a_503_then_an_answer_is_one_retry(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """The server fails once with 503: one retry, reason status."""
        delays: list[float] = []
        client = cached_client(max_retries=2, retry_policy=RetryPolicy(sleep=delays.append))
        with ProviderServer() as server:
            server.enqueue(json_reply(openai_error("overloaded"), status=503))
            client.chat(
                "openai",
                [{"role": "user", "content": "retry me"}],
                model="gpt-4o-mini",
                base_url=server.url,
                api_key="test-key",
            )
        retried = Scrape(registry).value(
            "exllm_request_retries_total", provider="openai", model="gpt-4o-mini", reason="status"
        )
        assert retried == len(delays) == 1


class TestInstall:
    """install() and uninstall(): all or nothing, one bridge per registry."""

    def test_uninstall_detaches_and_unregisters(
        self, registry: CollectorRegistry, cached_client: ClientFactory
    ) -> None:
        """After uninstall() no handler is left and the registry exports nothing of ours."""
        before = dict(telemetry.handlers())
        handle = prometheus.install(registry)
        assert set(telemetry.handlers()) > set(before)
        ask(cached_client(), "counted")
        assert Scrape(registry).samples
        handle.uninstall()
        handle.uninstall()  # a second call does nothing
        assert dict(telemetry.handlers()) == before
        assert Scrape(registry).samples == []

    def test_installing_twice_in_one_registry_names_the_fix(
        self,
        metrics: prometheus.PrometheusMetrics,
        registry: CollectorRegistry,
        cached_client: ClientFactory,
    ) -> None:
        """The second install() raises, saying uninstall(); the first goes on counting once."""
        with pytest.raises(ConfigurationError, match=r"uninstall\(\)"):
            prometheus.install(registry)
        client = cached_client()
        ask(client, "once")
        ask(client, "once")
        assert Scrape(registry).value("exllm_cache_hits_total", **MOCK, tier="") == 1

    def test_reinstalling_after_uninstall_starts_from_zero(
        self, registry: CollectorRegistry, cached_client: ClientFactory
    ) -> None:
        """A registry freed by uninstall() takes a new bridge, whose counts start afresh."""
        client = cached_client()
        with prometheus.install(registry):
            ask(client, "first")
        with prometheus.install(registry):
            ask(client, "second")
            assert Scrape(registry).value("exllm_cache_misses_total", **MOCK) == 1

    def test_two_registries_each_count_every_call(self, cached_client: ClientFactory) -> None:
        """Bridges in two registries both see the same hit."""
        first, second = CollectorRegistry(), CollectorRegistry()
        client = cached_client()
        with prometheus.install(first), prometheus.install(second):
            ask(client, "seen twice")
            ask(client, "seen twice")
            for registry in (first, second):
                assert Scrape(registry).value("exllm_cache_hits_total", **MOCK, tier="") == 1

    def test_a_name_clash_registers_nothing(self, registry: CollectorRegistry) -> None:
        """A registry already exporting one of the names: an error, and nothing half-installed."""
        Counter("exllm_cache_misses", "someone else's", registry=registry)
        before = dict(telemetry.handlers())
        with pytest.raises(ConfigurationError, match="another registry"):
            prometheus.install(registry)
        assert {sample.name for sample in Scrape(registry).samples} <= {
            "exllm_cache_misses_total",
            "exllm_cache_misses_created",
        }
        assert dict(telemetry.handlers()) == before

    def test_the_default_registry(self, cached_client: ClientFactory) -> None:
        """install() with no registry exports into prometheus_client.REGISTRY."""
        with prometheus.install() as handle:
            assert handle.registry is prometheus_client.REGISTRY
            ask(cached_client(), "default")
            scrape = Scrape(prometheus_client.REGISTRY)
        assert scrape.value("exllm_cache_misses_total", **MOCK) == 1


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


class TestImports:
    """The bridge costs nothing until it is imported, and says how to get it when missing."""

    def test_import_exllm_py_does_not_load_prometheus_client(self) -> None:
        """A fresh process that imports exllm_py, calls through the cache and imports
        exllm_py.metrics has no prometheus_client loaded."""
        done = _run_python(
            "import sys, exllm_py, exllm_py.metrics\n"
            "exllm_py.chat('mock', [{'role': 'user', 'content': 'hi'}])\n"
            "print('prometheus_client' in sys.modules)\n"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "False"

    def test_a_missing_prometheus_client_names_the_extra(self) -> None:
        """Without prometheus_client, importing the bridge raises ImportError naming the extra."""
        done = _run_python(
            "import sys\n"
            "sys.modules['prometheus_client'] = None  # as if it were not installed\n"
            "import exllm_py.metrics.prometheus\n"
        )
        assert done.returncode != 0
        assert "ImportError" in done.stderr
        assert "pip install 'exllm_py[prometheus]'" in done.stderr


class TestMultiprocess:
    """Workers with PROMETHEUS_MULTIPROC_DIR write their counts to files that one scrape sums."""

    def test_three_workers_summed_by_a_multiprocess_scrape(
        self, metrics: prometheus.PrometheusMetrics, tmp_path: Path
    ) -> None:
        """Three workers, each one miss and 2, 3 or 4 hits over a shared DiskStore: summed."""
        files, shared = tmp_path / "prometheus", tmp_path / "store"
        files.mkdir()
        hits = {"w1": 2, "w2": 3, "w3": 4}
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(files)}
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.metrics.prometheus_worker",
                    str(shared),
                    name,
                    str(n),
                ],
                cwd=REPOSITORY,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, n in hits.items()
        ]
        for worker in workers:
            _, stderr = worker.communicate(timeout=120)
            assert worker.returncode == 0, stderr
        scrape_registry = CollectorRegistry()
        MultiProcessCollector(scrape_registry, path=str(files))
        # The gauges: read by the scraping process, from the store the workers share.
        with contextlib.closing(DiskStore(shared)) as store:
            metrics.watch(store, name="shared")
            scrape_registry.register(metrics.collector)
            scrape = Scrape(scrape_registry)
        assert scrape.value("exllm_cache_hits_total", **MOCK, tier="") == sum(hits.values())
        assert scrape.value("exllm_cache_misses_total", **MOCK) == len(hits)
        assert scrape.value("exllm_cache_puts_total", **MOCK) == len(hits)
        assert scrape.value(
            "exllm_cache_hit_duration_seconds_count", provider="mock", tier=""
        ) == sum(hits.values())
        assert scrape.value("exllm_cache_miss_duration_seconds_count", **MOCK) == len(hits)
        assert scrape.value("exllm_cache_store_entries", store="disk", name="shared") == len(hits)
