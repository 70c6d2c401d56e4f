"""ProductionStrategy: read-through caching with per-call controls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, MockProvider, telemetry
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import RateLimitError
from tests.clocks import FakeClock
from tests.fakes.payloads import openai_completion, openai_error
from tests.fakes.provider_server import ProviderServer, json_reply

USER = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def strategy(clock: FakeClock) -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(clock=clock, cleanup_interval=None))


@pytest.fixture
def mock() -> MockProvider:
    return MockProvider("Paris.")


@pytest.fixture
def client(strategy: ProductionStrategy, mock: MockProvider) -> Iterator[Client]:
    with Client(cache_strategy=strategy, mock=mock) as client:
        yield client


@pytest.fixture
def events() -> Iterator[list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]]:
    seen: list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = []
    names = [telemetry.CACHE_HIT, telemetry.CACHE_MISS, telemetry.CACHE_PUT]
    telemetry.attach("test-production", names, lambda *event: seen.append(event))
    yield seen
    telemetry.detach("test-production")


class TestReadThrough:
    """The second identical call is served from the cache, without a provider call."""

    def test_a_repeated_call_is_a_hit(self, client: Client, mock: MockProvider) -> None:
        first = client.chat("mock", USER)
        second = client.chat("mock", USER)
        assert mock.calls == 1
        assert first.metadata["from_cache"] is False
        assert second.metadata["from_cache"] is True
        assert second == first
        assert len(second.metadata["cache_key"]) == 64

    def test_a_hits_metadata_cannot_be_changed_for_later_hits(self, client: Client) -> None:
        client.chat("mock", USER)
        hit = client.chat("mock", USER)
        with pytest.raises(TypeError):
            hit.metadata["from_cache"] = False  # type: ignore[index]
        assert client.chat("mock", USER).metadata["from_cache"] is True

    def test_a_hit_records_when_it_was_cached(self, client: Client, clock: FakeClock) -> None:
        client.chat("mock", USER)
        clock.tick(30)
        assert client.chat("mock", USER).metadata["cached_at"] == clock.now - 30

    def test_a_hit_costs_nothing_and_reports_the_saving(
        self, strategy: ProductionStrategy, events: Any
    ) -> None:
        priced = MockProvider("Paris.")
        with Client(cache_strategy=strategy, mock=priced) as client:
            first = client.chat("mock", USER, model="gpt-4o-mini")
            second = client.chat("mock", USER, model="gpt-4o-mini")
        assert first.cost is not None
        assert first.cost > 0
        assert second.cost == 0.0
        assert second.metadata["saved_cost"] == first.cost
        hit = [event for event in events if event[0] == telemetry.CACHE_HIT][-1]
        assert hit[1]["saved_cost_usd"] == first.cost

    async def test_achat_shares_the_cache_with_chat(
        self, client: Client, mock: MockProvider
    ) -> None:
        client.chat("mock", USER)
        response = await client.achat("mock", USER)
        assert response.metadata["from_cache"] is True
        assert mock.calls == 1

    def test_stats_count_hits_misses_and_puts(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        for _ in range(3):
            client.chat("mock", USER)
        stats = strategy.stats()
        assert (stats.hits, stats.misses, stats.puts, stats.entries) == (2, 1, 1, 1)
        assert stats.hit_rate == pytest.approx(2 / 3)
        assert stats.bytes > 0

    def test_events_for_a_miss_then_a_hit(self, client: Client, events: Any) -> None:
        client.chat("mock", USER)
        client.chat("mock", USER)
        names = [event[0][-1] for event in events]
        assert names == ["miss", "put", "hit"]
        miss, put, hit = events
        assert miss[2] == {
            "key": hit[2]["key"],
            "provider": "mock",
            "model": "mock-1",
            "namespace": None,
        }
        assert put[1]["ttl_s"] == 900.0
        assert put[1]["size_bytes"] > 0
        assert hit[1]["duration_ns"] > 0

    def test_events_never_carry_the_prompt(self, client: Client, events: Any) -> None:
        client.chat("mock", USER)
        client.chat("mock", USER)
        assert "capital of France" not in repr(events)


class TestControls:
    """cache, cache_ttl, cache_key and cache_namespace change what is read and written."""

    def test_cache_false_neither_reads_nor_writes(
        self, client: Client, mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        client.chat("mock", USER)
        response = client.chat("mock", USER, cache=False)
        assert response.metadata["from_cache"] is False
        assert mock.calls == 2
        client.chat("mock", [{"role": "user", "content": "new"}], cache=False)
        assert strategy.stats().entries == 1

    def test_refresh_skips_the_read_and_writes_the_new_answer(
        self, client: Client, mock: MockProvider, clock: FakeClock
    ) -> None:
        client.chat("mock", USER)
        mock.content = "Paris, France."
        clock.tick(1)
        refreshed = client.chat("mock", USER, cache="refresh")
        assert refreshed.content == "Paris, France."
        assert refreshed.metadata["from_cache"] is False
        hit = client.chat("mock", USER)
        assert hit.content == "Paris, France."
        assert hit.metadata["cached_at"] == clock.now
        assert mock.calls == 2

    def test_cache_ttl_sets_the_entry_lifetime(
        self, client: Client, mock: MockProvider, clock: FakeClock
    ) -> None:
        client.chat("mock", USER, cache_ttl=60)
        clock.tick(59)
        assert client.chat("mock", USER).metadata["from_cache"] is True
        clock.tick(1)
        assert client.chat("mock", USER).metadata["from_cache"] is False
        assert mock.calls == 2

    def test_cache_ttl_none_never_expires(
        self, client: Client, mock: MockProvider, clock: FakeClock
    ) -> None:
        client.chat("mock", USER, cache_ttl=None)
        clock.tick(365 * 86400)
        assert client.chat("mock", USER).metadata["from_cache"] is True

    def test_the_default_ttl_is_the_stores(
        self, client: Client, mock: MockProvider, clock: FakeClock
    ) -> None:
        client.chat("mock", USER)
        clock.tick(900)
        assert client.chat("mock", USER).metadata["from_cache"] is False

    def test_an_explicit_key_is_used_as_given(self, client: Client, mock: MockProvider) -> None:
        client.chat("mock", USER, cache_key="capital-fr")
        other_prompt = [{"role": "user", "content": "Capital of France, please"}]
        response = client.chat("mock", other_prompt, cache_key="capital-fr")
        assert response.metadata["cache_key"] == cache_key(
            "mock", other_prompt, {"cache_key": "capital-fr"}
        )
        assert response.content == "Paris."
        assert mock.calls == 1

    def test_namespaces_do_not_see_each_other(self, client: Client, mock: MockProvider) -> None:
        client.chat("mock", USER, cache_namespace="tenant-a")
        response = client.chat("mock", USER, cache_namespace="tenant-b")
        assert response.metadata["from_cache"] is False
        assert client.chat("mock", USER, cache_namespace="tenant-a").metadata["from_cache"]
        assert mock.calls == 2

    def test_an_explicit_key_cannot_reach_into_a_namespace(
        self, client: Client, mock: MockProvider
    ) -> None:
        client.chat("mock", USER, cache_key="x", cache_namespace="tenant-a")
        response = client.chat("mock", USER, cache_key="tenant-a:x")
        assert response.metadata["from_cache"] is False
        assert mock.calls == 2

    def test_the_public_cache_key_is_the_key_calls_use(
        self, client: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        client.chat("mock", USER, temperature=0.2)
        response = client.chat("mock", USER, temperature=0.2)
        assert cache_key("mock", USER, {"temperature": 0.2}) == response.metadata["cache_key"]
        with ProviderServer() as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/")
            with Client(cache_strategy=ProductionStrategy()) as fresh:
                fresh.chat("openai", USER, api_key="k")
                hit = fresh.chat("openai", USER, api_key="k")
        assert hit.metadata["from_cache"] is True
        assert cache_key("openai", USER, {}) == hit.metadata["cache_key"]

    def test_explicit_keys_are_namespaced_too(self, client: Client, mock: MockProvider) -> None:
        client.chat("mock", USER, cache_key="k", cache_namespace="a")
        assert (
            client.chat("mock", USER, cache_key="k", cache_namespace="b").metadata["from_cache"]
            is False
        )


class TestNeverCached:
    """Streams, errors and empty answers are never stored."""

    def test_streams_are_not_cached(
        self, client: Client, mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        first = "".join(chunk.content for chunk in client.stream("mock", USER))
        second = "".join(chunk.content for chunk in client.stream("mock", USER))
        assert first == second == "Paris."
        assert mock.calls == 2
        assert strategy.stats().entries == 0

    def test_errors_are_not_cached(self, client: Client, strategy: ProductionStrategy) -> None:
        with ProviderServer() as server:
            server.enqueue(
                json_reply(openai_error("slow down"), status=429, headers={"retry-after": "2"}),
                json_reply(openai_completion("Paris.")),
            )
            with pytest.raises(RateLimitError):
                client.chat("openai", USER, base_url=server.url, api_key="k")
            assert strategy.stats().entries == 0
            answer = client.chat("openai", USER, base_url=server.url, api_key="k")
            assert answer.content == "Paris."
            assert answer.metadata["from_cache"] is False
            assert len(server.requests) == 2

    def test_empty_answers_are_not_cached(
        self, client: Client, mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        mock.content = ""
        client.chat("mock", USER)
        client.chat("mock", USER)
        assert mock.calls == 2
        assert strategy.stats().entries == 0
