"""The OpenTelemetry bridge: real calls through the cache, read back through the real SDK."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    NumberDataPoint,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GenAiProviderNameValues,
    GenAiSystemValues,
)
from opentelemetry.trace import SpanKind

import exllm_py
from exllm_py import telemetry
from exllm_py.cache import DiskStore, MemoryStore, ProductionStrategy, TieredStore
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from exllm_py.errors import ConfigurationError, RecordingNotFound, ValidationError
from exllm_py.metrics import otel, otel_tallies
from exllm_py.metrics.buckets import HIT_BUCKETS, MISS_BUCKETS
from exllm_py.metrics.labels import OTHER
from exllm_py.metrics.otel_semconv import TOKEN_BUCKETS, provider_attributes
from exllm_py.pipeline.retry import RetryPolicy
from exllm_py.providers.mock import MockProvider
from exllm_py.testing.strategy import TestStrategy, use_cassette
from exllm_py.types import LLMResponse
from tests.fakes.payloads import openai_error
from tests.fakes.provider_server import ProviderServer, json_reply

REPOSITORY = Path(__file__).resolve().parents[2]
#: The attributes of a call to the mock provider's model "mock-1".
MOCK = {"gen_ai.system": "mock", "gen_ai.provider.name": "mock", "gen_ai.request.model": "mock-1"}
#: The attributes of its hit durations: by provider only.
MOCK_PROVIDER = {"gen_ai.system": "mock", "gen_ai.provider.name": "mock"}


class Collected:
    """One collection of an ``InMemoryMetricReader``: the bridge's metrics, by name."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.metrics: dict[str, Metric] = {}
        data = reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "exllm_py"
                assert scope.scope.version == exllm_py.__version__
                self.metrics.update((metric.name, metric) for metric in scope.metrics)

    def series(self, name: str) -> list[dict[str, Any]]:
        metric = self.metrics.get(name)
        return [] if metric is None else [dict(p.attributes or {}) for p in metric.data.data_points]

    def point(self, name: str, attributes: Mapping[str, Any]) -> Any:
        """The data point of ``name`` with exactly ``attributes``, or None when there is none."""
        metric = self.metrics.get(name)
        points = [] if metric is None else metric.data.data_points
        found = [p for p in points if dict(p.attributes or {}) == dict(attributes)]
        assert len(found) <= 1, f"{name}{attributes} appears {len(found)} times"
        return found[0] if found else None

    def value(self, name: str, attributes: Mapping[str, Any]) -> float | None:
        point = self.point(name, attributes)
        if point is None:
            return None
        assert isinstance(point, NumberDataPoint)
        return point.value

    def histogram(self, name: str, attributes: Mapping[str, Any]) -> HistogramDataPoint:
        point = self.point(name, attributes)
        assert isinstance(point, HistogramDataPoint), f"no {name}{attributes}"
        return point


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    yield provider
    provider.shutdown()


@pytest.fixture
def bridge(meter_provider: MeterProvider) -> Iterator[otel.OTelMetrics]:
    handle = otel.install(meter_provider)
    yield handle
    handle.uninstall()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def traced(
    meter_provider: MeterProvider, tracer_provider: TracerProvider
) -> Iterator[otel.OTelMetrics]:
    handle = otel.install(meter_provider, tracer_provider=tracer_provider, spans=True)
    yield handle
    handle.uninstall()


def ask(client: exllm_py.Client, text: str, model: str = "mock-1", **options: Any) -> LLMResponse:
    return client.chat("mock", [{"role": "user", "content": text}], model=model, **options)


def cached_client(store: Any = None, **options: Any) -> exllm_py.Client:
    return exllm_py.Client(cache_strategy=ProductionStrategy(store), **options)


@contextlib.contextmanager
def captured(*events: telemetry.Event) -> Iterator[list[tuple[telemetry.Event, dict[str, Any]]]]:
    """The (event, measurements) of ``events`` emitted in the block."""
    seen: list[tuple[telemetry.Event, dict[str, Any]]] = []
    telemetry.attach("test-otel-capture", events, lambda event, m, _md: seen.append((event, m)))
    try:
        yield seen
    finally:
        telemetry.detach("test-otel-capture")


class TestCallCounters:
    """Hits, misses and puts count what the cache did, by the GenAI provider and model."""

    def test_a_known_sequence_is_counted_as_the_strategy_counts_it(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """One entry of room, asked a, a, b, a: one hit, three misses and puts, two evictions."""
        client = cached_client(MemoryStore(max_entries=1))
        for text in ("a", "a", "b", "a"):
            ask(client, text)
        collected = Collected(reader)
        stats = client.cache_strategy.stats()
        assert isinstance(stats, CacheStats)
        assert (stats.hits, stats.misses, stats.puts, stats.evictions) == (1, 3, 3, 2)
        assert collected.value("exllm.cache.hits", MOCK) == stats.hits
        assert collected.value("exllm.cache.misses", MOCK) == stats.misses
        assert collected.value("exllm.cache.puts", MOCK) == stats.puts
        evicted = collected.value("exllm.cache.evictions", {"store": "memory", "reason": "lru"})
        assert evicted == stats.evictions

    async def test_async_calls_are_counted_alike(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """achat() goes through the same strategy: one miss, then hits."""
        client = cached_client()
        for _ in range(3):
            await client.achat("mock", [{"role": "user", "content": "async"}], model="mock-1")
        collected = Collected(reader)
        assert collected.value("exllm.cache.misses", MOCK) == 1
        assert collected.value("exllm.cache.hits", MOCK) == 2

    def test_counters_keep_counting_across_collections(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """Cumulative sums: a collection between hits takes nothing away."""
        client = cached_client()
        ask(client, "again")
        ask(client, "again")
        first = Collected(reader).value("exllm.cache.hits", MOCK)
        ask(client, "again")
        assert (first, Collected(reader).value("exllm.cache.hits", MOCK)) == (1, 2)

    def test_models_are_series_apart(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """The same question to two models: a miss each, attributed by model."""
        client = cached_client()
        for model in ("mock-1", "mock-2", "mock-2"):
            ask(client, "same", model=model)
        collected = Collected(reader)
        mock_2 = {**MOCK, "gen_ai.request.model": "mock-2"}
        assert collected.value("exllm.cache.misses", MOCK) == 1
        assert collected.value("exllm.cache.misses", mock_2) == 1
        assert collected.value("exllm.cache.hits", mock_2) == 1
        assert collected.value("exllm.cache.hits", MOCK) is None

    def test_each_hit_saves_the_price_of_the_miss(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """A priced model over real HTTP: three hits save three times the first call's cost."""
        question = [{"role": "user", "content": "what does this cost?"}]
        with ProviderServer() as server, cached_client() as client:
            options = {"model": "gpt-4o-mini", "base_url": server.url, "api_key": "test-key"}
            bought = client.chat("openai", question, **options)
            hits = [client.chat("openai", question, **options) for _ in range(3)]
        assert bought.cost is not None
        assert bought.cost > 0
        assert all(hit.metadata["from_cache"] for hit in hits)
        openai = {**provider_attributes("openai"), "gen_ai.request.model": "gpt-4o-mini"}
        collected = Collected(reader)
        assert collected.metrics["exllm.cache.saved_cost"].unit == "USD"
        assert collected.series("exllm.cache.saved_cost") == [openai]
        saved = collected.value("exllm.cache.saved_cost", openai)
        assert saved == pytest.approx(3 * bought.cost)


class TestGenAiConventions:
    """Providers are named by the GenAI semantic conventions' well-known values."""

    def test_our_providers_map_to_the_conventions_values(self) -> None:
        """gen_ai.system and gen_ai.provider.name as the conventions package spells them."""
        expected = {
            "openai": (GenAiSystemValues.OPENAI, GenAiProviderNameValues.OPENAI),
            "anthropic": (GenAiSystemValues.ANTHROPIC, GenAiProviderNameValues.ANTHROPIC),
            "gemini": (GenAiSystemValues.GCP_GEMINI, GenAiProviderNameValues.GCP_GEMINI),
            "groq": (GenAiSystemValues.GROQ, GenAiProviderNameValues.GROQ),
            "mistral": (GenAiSystemValues.MISTRAL_AI, GenAiProviderNameValues.MISTRAL_AI),
            "xai": (GenAiSystemValues.XAI, GenAiProviderNameValues.X_AI),
        }
        for ours, (system, name) in expected.items():
            assert provider_attributes(ours) == {
                "gen_ai.system": system.value,
                "gen_ai.provider.name": name.value,
            }

    def test_a_provider_the_conventions_do_not_list_keeps_its_name(self) -> None:
        """openrouter is no well-known value: it is its own custom value."""
        assert provider_attributes("openrouter") == {
            "gen_ai.system": "openrouter",
            "gen_ai.provider.name": "openrouter",
        }

    def test_a_gemini_call_over_http_is_gcp_gemini(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """The Gemini wire format over loopback: the miss is attributed gcp.gemini."""
        with ProviderServer() as server, cached_client() as client:
            client.chat(
                "gemini",
                [{"role": "user", "content": "hi"}],
                model="gemini-2.0-flash",
                base_url=server.url,
                api_key="test-key",
            )
        attributes = {
            "gen_ai.system": "gcp.gemini",
            "gen_ai.provider.name": "gcp.gemini",
            "gen_ai.request.model": "gemini-2.0-flash",
        }
        assert Collected(reader).value("exllm.cache.misses", attributes) == 1


class TestDurations:
    """A hit's lookup and a provider call land in histograms, in seconds, with advised buckets."""

    def test_every_hit_is_in_the_microsecond_buckets(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """Five hits from memory: five measurements, by provider, in the hit buckets."""
        client = cached_client()
        with captured(telemetry.CACHE_HIT) as hits:
            for _ in range(6):
                ask(client, "timed")
        collected = Collected(reader)
        assert collected.metrics["exllm.cache.hit.duration"].unit == "s"
        point = collected.histogram("exllm.cache.hit.duration", MOCK_PROVIDER)
        assert point.count == len(hits) == 5
        assert tuple(point.explicit_bounds) == HIT_BUCKETS
        assert point.sum == pytest.approx(sum(m["duration_ns"] for _, m in hits) / 1e9)

    def test_hits_since_the_last_collection_are_in_the_next(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """Durations wait for a collection, which records them before it reads the histogram."""
        client = cached_client()
        ask(client, "waiting")
        ask(client, "waiting")
        assert bridge.instruments.tallies.pending() == 1
        first = Collected(reader).histogram("exllm.cache.hit.duration", MOCK_PROVIDER)
        assert bridge.instruments.tallies.pending() == 0
        ask(client, "waiting")
        second = Collected(reader).histogram("exllm.cache.hit.duration", MOCK_PROVIDER)
        assert (first.count, second.count) == (1, 2)

    def test_a_view_of_its_own_sees_the_measured_values(self, reader: InMemoryMetricReader) -> None:
        """A View with one bucket at 1 ms: sum, min and max are the events' own durations."""
        view = View(
            instrument_name="exllm.cache.hit.duration",
            aggregation=ExplicitBucketHistogramAggregation((0.001,)),
        )
        provider = MeterProvider(metric_readers=[reader], views=[view], shutdown_on_exit=False)
        client = cached_client()
        with otel.install(provider), captured(telemetry.CACHE_HIT) as hits:
            for _ in range(4):
                ask(client, "viewed")
            point = Collected(reader).histogram("exllm.cache.hit.duration", MOCK_PROVIDER)
        provider.shutdown()
        seconds = [m["duration_ns"] / 1e9 for _, m in hits]
        assert tuple(point.explicit_bounds) == (0.001,)
        assert (point.count, point.min, point.max) == (3, min(seconds), max(seconds))
        assert point.sum == pytest.approx(sum(seconds))

    def test_past_the_pending_cap_a_hit_records_at_once(
        self,
        bridge: otel.OTelMetrics,
        reader: InMemoryMetricReader,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """With room for two waiting durations, five hits leave two waiting and lose none."""
        monkeypatch.setattr(otel_tallies, "MAX_PENDING", 2)
        client = cached_client()
        for _ in range(6):
            ask(client, "capped")
        assert bridge.instruments.tallies.pending() == 2
        point = Collected(reader).histogram("exllm.cache.hit.duration", MOCK_PROVIDER)
        assert point.count == 5

    def test_a_miss_measures_the_provider_call(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """A provider taking 0.3 s: one measurement, of at least that, past the 0.25 s bucket."""
        client = cached_client(mock=MockProvider(latency=0.3))
        ask(client, "slow")
        ask(client, "slow")
        collected = Collected(reader)
        point = collected.histogram("exllm.cache.miss.duration", MOCK)
        assert tuple(point.explicit_bounds) == MISS_BUCKETS
        assert point.count == 1
        assert point.sum >= 0.3
        assert point.bucket_counts[MISS_BUCKETS.index(0.25)] == 0
        hit = collected.histogram("exllm.cache.hit.duration", MOCK_PROVIDER)
        assert hit.sum < 0.3  # the hit did not wait for the provider


class TestTokenUsage:
    """Each provider call whose answer is stored records its tokens, as the conventions say."""

    def test_input_and_output_tokens_of_the_miss_only(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """A miss and two hits: one input and one output measurement, the miss's usage."""
        client = cached_client(mock=MockProvider("Paris is the capital of France."))
        bought = ask(client, "What is the capital of France?")
        ask(client, "What is the capital of France?")
        ask(client, "What is the capital of France?")
        assert bought.usage.input_tokens > 0
        assert bought.usage.output_tokens > 0
        collected = Collected(reader)
        assert collected.metrics["gen_ai.client.token.usage"].unit == "{token}"
        chat = {**MOCK, "gen_ai.operation.name": "chat"}
        used_in = collected.histogram(
            "gen_ai.client.token.usage", {**chat, "gen_ai.token.type": "input"}
        )
        used_out = collected.histogram(
            "gen_ai.client.token.usage", {**chat, "gen_ai.token.type": "output"}
        )
        assert (used_in.count, used_in.sum) == (1, bought.usage.input_tokens)
        assert (used_out.count, used_out.sum) == (1, bought.usage.output_tokens)
        assert tuple(used_in.explicit_bounds) == TOKEN_BUCKETS

    def test_the_put_event_carries_the_usage(self) -> None:
        """The measurements the bridge reads: the stored answer's input and output tokens."""
        client = cached_client(mock=MockProvider("four words of answer"))
        with captured(telemetry.CACHE_PUT) as puts:
            bought = ask(client, "two words")
        [(_, measured)] = puts
        assert measured["input_tokens"] == bought.usage.input_tokens > 0
        assert measured["output_tokens"] == bought.usage.output_tokens > 0


class TestStoreEvents:
    """Evictions and store errors are counted by store kind and reason."""

    def test_a_delete_is_an_explicit_eviction(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """Removing an entry by hand is counted under reason explicit."""
        store = MemoryStore()
        client = cached_client(store)
        ask(client, "to remove")
        assert store.delete(ask(client, "to remove").metadata["cache_key"])
        evicted = Collected(reader).value(
            "exllm.cache.evictions", {"store": "memory", "reason": "explicit"}
        )
        assert evicted == 1

    def test_a_disk_file_that_is_not_a_database(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader, tmp_path: Path
    ) -> None:
        """A corrupt SQLite file: answered all the same, counted as corrupt, then breaker_open."""
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database at all" * 100)
        with contextlib.closing(DiskStore(tmp_path)) as store:
            assert not ask(cached_client(store), "on a broken disk").metadata["from_cache"]
        collected = Collected(reader)
        assert (
            collected.value("exllm.cache.errors", {"store": "disk", "reason": "corrupt"}) or 0
        ) >= 1
        opened = collected.value("exllm.cache.errors", {"store": "disk", "reason": "breaker_open"})
        assert opened == 1


class TestAttributes:
    """Attributes stay bounded: tier on tiered hits, namespace only when asked, capped models."""

    def test_l1_and_l2_hits_are_series_apart(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """A hit from L1 is tier l1; after L1 is emptied, the next hit is tier l2."""
        l1 = MemoryStore()
        client = cached_client(TieredStore(l1, MemoryStore()))
        ask(client, "tiered")
        ask(client, "tiered")
        l1.clear()
        ask(client, "tiered")
        collected = Collected(reader)
        assert collected.value("exllm.cache.hits", {**MOCK, "tier": "l1"}) == 1
        assert collected.value("exllm.cache.hits", {**MOCK, "tier": "l2"}) == 1
        l2 = collected.histogram("exllm.cache.hit.duration", {**MOCK_PROVIDER, "tier": "l2"})
        assert l2.count == 1

    def test_namespaces_are_not_an_attribute_by_default(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """Two tenants' misses add up in one series, and the key is in none."""
        client = cached_client()
        for tenant in ("tenant-a", "tenant-b"):
            ask(client, "same", cache_namespace=tenant)
        key = ask(client, "same", cache_namespace="tenant-a").metadata["cache_key"]
        collected = Collected(reader)
        assert collected.value("exllm.cache.misses", MOCK) == 2
        for name in collected.metrics:
            for attributes in collected.series(name):
                assert "namespace" not in attributes
                assert key not in attributes.values()

    def test_namespace_label_is_opt_in(
        self, meter_provider: MeterProvider, reader: InMemoryMetricReader
    ) -> None:
        """namespace_label=True: a series per namespace, the calls without one without it."""
        client = cached_client()
        with otel.install(meter_provider, namespace_label=True):
            for tenant in ("tenant-a", "tenant-b", "tenant-b", None):
                ask(client, "same", cache_namespace=tenant)
            collected = Collected(reader)
        assert collected.value("exllm.cache.misses", {**MOCK, "namespace": "tenant-a"}) == 1
        assert collected.value("exllm.cache.misses", {**MOCK, "namespace": "tenant-b"}) == 1
        assert collected.value("exllm.cache.misses", MOCK) == 1
        assert collected.value("exllm.cache.hits", {**MOCK, "namespace": "tenant-b"}) == 1

    def test_models_past_the_cap_read_other(
        self, meter_provider: MeterProvider, reader: InMemoryMetricReader
    ) -> None:
        """max_models=2: the third model's misses, puts and hits count as other."""
        client = cached_client()
        with otel.install(meter_provider, max_models=2):
            for model in ("m1", "m2", "m3", "m4", "m4"):
                ask(client, "capped", model=model)
            collected = Collected(reader)
        other = {**MOCK, "gen_ai.request.model": OTHER}
        assert collected.value("exllm.cache.misses", other) == 2
        assert collected.value("exllm.cache.puts", other) == 2
        assert collected.value("exllm.cache.hits", other) == 1
        models = {a["gen_ai.request.model"] for a in collected.series("exllm.cache.misses")}
        assert models == {"m1", "m2", OTHER}


class CountingStore(MemoryStore):
    """A MemoryStore that counts the calls of its stats()."""

    def __init__(self) -> None:
        super().__init__()
        self.stats_calls = 0

    def stats(self) -> CacheStats:
        self.stats_calls += 1
        return super().stats()


class TestStoreGauges:
    """Watched stores' entries and bytes are read when a reader collects, and only then."""

    def test_the_gauges_are_the_stores_figures_at_collection_time(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """Two answers stored, then a third: each collection reads what the store holds."""
        store = MemoryStore()
        bridge.watch(store, name="answers")
        client = cached_client(store)
        attributes = {"store": "memory", "name": "answers"}
        for text in ("one", "two"):
            ask(client, text)
        before = Collected(reader)
        ask(client, "three")
        after = Collected(reader)
        assert before.value("exllm.cache.store.entries", attributes) == 2
        assert after.value("exllm.cache.store.entries", attributes) == 3
        assert after.value("exllm.cache.store.size", attributes) == store.stats().bytes > 0
        assert after.metrics["exllm.cache.store.size"].unit == "By"

    def test_hits_never_read_the_stores(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """A miss and five hits call stats() not once; a collection once per gauge."""
        store = CountingStore()
        bridge.watch(store, name="counted")
        client = cached_client(store)
        for _ in range(6):
            ask(client, "hot")
        assert store.stats_calls == 0
        Collected(reader)
        assert store.stats_calls == 2

    def test_unwatch_takes_the_series_out(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """After unwatch() the store's series are gone; a second unwatch() says so."""
        bridge.watch(MemoryStore(), name="gone")
        assert bridge.unwatch("gone") is True
        assert Collected(reader).series("exllm.cache.store.entries") == []
        assert bridge.unwatch("gone") is False

    def test_a_name_watches_one_store(self, bridge: otel.OTelMetrics) -> None:
        """Another store under a taken name is refused, naming unwatch()."""
        bridge.watch(MemoryStore(), name="taken")
        with pytest.raises(ValidationError, match=r"unwatch\('taken'\)"):
            bridge.watch(MemoryStore(), name="taken")


class TestSpans:
    """spans=True: a span per call answered, with cache.hit and the GenAI attributes."""

    def test_a_miss_then_a_hit(
        self, traced: otel.OTelMetrics, exporter: InMemorySpanExporter
    ) -> None:
        """The provider call is a CLIENT span of cache.hit false; the hit an INTERNAL one, true."""
        client = cached_client()
        with captured(telemetry.CACHE_PUT, telemetry.CACHE_HIT) as events:
            ask(client, "spanned")
            ask(client, "spanned")
        miss, hit = exporter.get_finished_spans()
        attributes = {**MOCK, "gen_ai.operation.name": "chat"}
        assert (miss.name, miss.kind) == ("chat mock-1", SpanKind.CLIENT)
        assert dict(miss.attributes or {}) == {**attributes, "cache.hit": False}
        assert (hit.name, hit.kind) == ("chat mock-1", SpanKind.INTERNAL)
        assert dict(hit.attributes or {}) == {**attributes, "cache.hit": True}
        [(_, put), (_, served)] = events
        assert _duration_ns(miss) == put["compute_ns"]
        assert _duration_ns(hit) == served["duration_ns"]

    def test_the_callers_span_is_the_parent(
        self,
        traced: otel.OTelMetrics,
        tracer_provider: TracerProvider,
        exporter: InMemorySpanExporter,
    ) -> None:
        """A call made inside the application's span nests under it, and within its time."""
        tracer = tracer_provider.get_tracer("the-application")
        client = cached_client()
        with tracer.start_as_current_span("handle request"):
            ask(client, "nested")
            ask(client, "nested")
        *calls, request = exporter.get_finished_spans()
        assert request.name == "handle request"
        assert len(calls) == 2
        assert request.start_time is not None
        assert request.end_time is not None
        for call in calls:
            assert call.parent is not None
            assert call.parent.span_id == request.context.span_id
            assert call.start_time is not None
            assert call.end_time is not None
            assert request.start_time <= call.start_time <= call.end_time <= request.end_time

    def test_no_spans_unless_asked(
        self,
        bridge: otel.OTelMetrics,
        tracer_provider: TracerProvider,
        exporter: InMemorySpanExporter,
    ) -> None:
        """The default bridge makes metrics only."""
        client = cached_client()
        ask(client, "quiet")
        ask(client, "quiet")
        assert exporter.get_finished_spans() == ()


def _duration_ns(span: ReadableSpan) -> int:
    assert span.start_time is not None
    assert span.end_time is not None
    return span.end_time - span.start_time


class TestOtherEvents:
    """Retries and the test cache's events are counted too."""

    def test_a_503_then_an_answer_is_one_retry(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader
    ) -> None:
        """The server fails once with 503: one retry, reason status."""
        delays: list[float] = []
        policy = RetryPolicy(sleep=delays.append)
        with (
            ProviderServer() as server,
            cached_client(max_retries=2, retry_policy=policy) as client,
        ):
            server.enqueue(json_reply(openai_error("overloaded"), status=503))
            client.chat(
                "openai",
                [{"role": "user", "content": "retry me"}],
                model="gpt-4o-mini",
                base_url=server.url,
                api_key="test-key",
            )
        attributes = {
            **provider_attributes("openai"),
            "gen_ai.request.model": "gpt-4o-mini",
            "reason": "status",
        }
        assert Collected(reader).value("exllm.request.retries", attributes) == len(delays) == 1

    def test_record_then_replay_then_a_missing_request(
        self, bridge: otel.OTelMetrics, reader: InMemoryMetricReader, tmp_path: Path
    ) -> None:
        """Recorded once (a miss, a save), replayed (a hit), then an unknown request (an error)."""
        path = tmp_path / "recorded.json"
        with ProviderServer() as server, exllm_py.Client(cache_strategy=TestStrategy()) as client:
            options = {"model": "gpt-4o-mini", "base_url": server.url, "api_key": "test-key"}
            known = [{"role": "user", "content": "recorded"}]
            with use_cassette(path, mode="once"):
                client.chat("openai", known, **options)
            with use_cassette(path, mode="none"):
                assert client.chat("openai", known, **options).metadata["from_cache"]
                with pytest.raises(RecordingNotFound):
                    client.chat("openai", [{"role": "user", "content": "never"}], **options)
        collected = Collected(reader)
        assert collected.value("exllm.test_cache.hits", {}) == 1
        assert collected.value("exllm.test_cache.misses", {}) == 2
        assert collected.value("exllm.test_cache.saves", {}) == 1
        error = {"reason": "RecordingNotFound"}
        assert collected.value("exllm.test_cache.errors", error) == 1


class TestInstall:
    """install() and uninstall(): one bridge per meter provider, nothing left behind."""

    def test_uninstall_detaches_and_stops_counting(
        self, meter_provider: MeterProvider, reader: InMemoryMetricReader
    ) -> None:
        """After uninstall() no handler is left, and hits no longer count."""
        before = dict(telemetry.handlers())
        handle = otel.install(meter_provider)
        assert set(telemetry.handlers()) > set(before)
        client = cached_client()
        ask(client, "counted")
        ask(client, "counted")
        handle.uninstall()
        handle.uninstall()  # a second call does nothing
        assert dict(telemetry.handlers()) == before
        ask(client, "counted")
        assert Collected(reader).value("exllm.cache.hits", MOCK) == 1
        assert not handle.installed

    def test_installing_twice_on_one_provider_names_the_fix(
        self, bridge: otel.OTelMetrics, meter_provider: MeterProvider, reader: InMemoryMetricReader
    ) -> None:
        """The second install() raises, saying uninstall(); the first goes on counting once."""
        with pytest.raises(ConfigurationError, match=r"uninstall\(\)"):
            otel.install(meter_provider)
        client = cached_client()
        ask(client, "once")
        ask(client, "once")
        assert Collected(reader).value("exllm.cache.hits", MOCK) == 1

    def test_reinstalling_goes_on_from_the_same_totals(
        self, meter_provider: MeterProvider, reader: InMemoryMetricReader
    ) -> None:
        """OpenTelemetry keeps a provider's instruments: a new bridge adds to their sums."""
        client = cached_client()
        with otel.install(meter_provider):
            ask(client, "first")
        with otel.install(meter_provider):
            ask(client, "second")
            assert Collected(reader).value("exllm.cache.misses", MOCK) == 2

    def test_watch_after_uninstall_names_the_fix(self, meter_provider: MeterProvider) -> None:
        """An uninstalled bridge reports nothing: watch() says to install again."""
        handle = otel.install(meter_provider)
        handle.uninstall()
        with pytest.raises(ConfigurationError, match=r"new install\(\)"):
            handle.watch(MemoryStore(), name="late")

    def test_two_providers_each_count_every_call(self) -> None:
        """Bridges on two providers both see the same hit."""
        readers = [InMemoryMetricReader(), InMemoryMetricReader()]
        providers = [MeterProvider(metric_readers=[r], shutdown_on_exit=False) for r in readers]
        client = cached_client()
        with otel.install(providers[0]), otel.install(providers[1]):
            ask(client, "seen twice")
            ask(client, "seen twice")
            for reader in readers:
                assert Collected(reader).value("exllm.cache.hits", MOCK) == 1
        for provider in providers:
            provider.shutdown()

    def test_a_no_op_provider_attaches_nothing(self) -> None:
        """NoOpMeterProvider and no spans: no handler, so hits keep their fast path."""
        before = dict(telemetry.handlers())
        with otel.install(NoOpMeterProvider()):
            assert dict(telemetry.handlers()) == before
            client = cached_client()
            ask(client, "nothing recorded")
            assert ask(client, "nothing recorded").metadata["from_cache"]


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


class TestWithoutAnSdk:
    """Only the API at run time: the bridge installs before the SDK, and costs nothing before."""

    def test_import_exllm_py_does_not_load_opentelemetry(self) -> None:
        """A fresh process that imports exllm_py and exllm_py.metrics and calls through the
        cache has no opentelemetry module loaded."""
        done = _run_python(
            "import sys, exllm_py, exllm_py.metrics\n"
            "exllm_py.chat('mock', [{'role': 'user', 'content': 'hi'}])\n"
            "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')))\n"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"

    def test_a_missing_opentelemetry_api_names_the_extra(self) -> None:
        """Without opentelemetry, importing the bridge raises ImportError naming the extra."""
        done = _run_python(
            "import sys\n"
            "sys.modules['opentelemetry'] = None  # as if it were not installed\n"
            "import exllm_py.metrics.otel\n"
        )
        assert done.returncode != 0
        assert "ImportError" in done.stderr
        assert "pip install 'exllm_py[otel]'" in done.stderr

    def test_installed_before_the_sdk_it_counts_once_the_sdk_is_set(self) -> None:
        """install() on the global provider, hits, then an SDK set globally: the counters
        report every hit since install(), and the spans start with the SDK."""
        done = _run_python(
            "import exllm_py\n"
            "from opentelemetry import metrics, trace\n"
            "from opentelemetry.sdk.metrics import MeterProvider\n"
            "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
            "from opentelemetry.sdk.trace import TracerProvider\n"
            "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
            "from opentelemetry.sdk.trace.export.in_memory_span_exporter import "
            "InMemorySpanExporter\n"
            "from exllm_py.cache import ProductionStrategy\n"
            "from exllm_py.metrics import otel\n"
            "client = exllm_py.Client(cache_strategy=ProductionStrategy())\n"
            "ask = lambda: client.chat('mock', [{'role': 'user', 'content': 'hi'}], model='m')\n"
            "handle = otel.install(spans=True)\n"
            "ask(); ask()\n"
            "reader, exporter = InMemoryMetricReader(), InMemorySpanExporter()\n"
            "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))\n"
            "traces = TracerProvider()\n"
            "traces.add_span_processor(SimpleSpanProcessor(exporter))\n"
            "trace.set_tracer_provider(traces)\n"
            "ask()\n"
            "data = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics\n"
            "found = {m.name: m.data.data_points[0] for m in data}\n"
            "print(found['exllm.cache.hits'].value, found['exllm.cache.misses'].value,\n"
            "      found['exllm.cache.hit.duration'].count, len(exporter.get_finished_spans()))\n"
        )
        assert done.returncode == 0, done.stderr
        # Hits and misses are the bridge's own tallies, hit durations wait for a
        # collection: all three cover the calls made before the SDK. A span is made
        # when its call ends, through whatever tracer provider is set then.
        assert done.stdout.split() == ["2", "1", "2", "1"]
