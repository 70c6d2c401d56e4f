"""ProductionStrategy: read-through caching with per-call controls."""

from __future__ import annotations

import asyncio
import copy
import json
import operator
import pickle
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from exllm_py import Client, MockProvider, telemetry
from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import RateLimitError, ValidationError
from exllm_py.types import LLMResponse, ToolCall
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

    def test_a_hit_without_a_semantic_cache_adds_only_where_it_came_from(
        self, client: Client, clock: FakeClock
    ) -> None:
        """No ``cache_match``: only a strategy that also matches by meaning says how it matched."""
        live = client.chat("mock", USER)
        hit = client.chat("mock", USER)
        assert dict(hit.metadata) == {
            **live.metadata,
            "from_cache": True,
            "cache_key": cache_key("mock", USER, {}),
            "cached_at": clock.now,
            "saved_cost": live.cost,
        }

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
    """Errors and empty answers are never stored (streams: tests/cache/test_stream_cache.py)."""

    def test_errors_are_not_cached(self, client: Client, strategy: ProductionStrategy) -> None:
        with ProviderServer() as server:
            server.enqueue(
                json_reply(openai_error("slow down"), status=429, headers={"retry-after": "2"}),
                json_reply(openai_completion("Paris.")),
            )
            with pytest.raises(RateLimitError):
                client.chat("openai", USER, base_url=server.url, api_key="k", max_retries=0)
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


PAYMENT = ToolCall(id="call-1", name="pay", arguments={"amount": 10, "to": ["alice"]})


def pay_once(server: ProviderServer) -> None:
    """Queue one answer that asks for a payment tool call."""
    server.enqueue(json_reply(openai_completion("Paying.", tool_calls=[PAYMENT])))


class TestWhatCallersHold:
    """What a caller does with an answer it holds never changes what the cache serves."""

    def test_editing_the_live_answer_does_not_reach_later_hits(self, client: Client) -> None:
        with ProviderServer() as server:
            pay_once(server)
            live = client.chat("openai", USER, base_url=server.url, api_key="k")
            # The live answer is the caller's own to edit...
            live.tool_calls[0].arguments["amount"] = 1_000_000  # type: ignore[index]
            live.raw["choices"][0]["message"]["content"] = "poisoned"
            live.raw["usage"].clear()
            hit = client.chat("openai", USER, base_url=server.url, api_key="k")
        # ...and the cache serves what the provider said.
        assert hit.metadata["from_cache"] is True
        assert hit.tool_calls[0].arguments == {"amount": 10, "to": ["alice"]}
        assert hit.raw["choices"][0]["message"]["content"] == "Paying."
        assert hit.raw["usage"]["total_tokens"] > 0
        assert len(server.requests) == 1

    def test_a_hit_is_read_only_all_the_way_down(self, client: Client) -> None:
        with ProviderServer() as server:
            pay_once(server)
            client.chat("openai", USER, base_url=server.url, api_key="k")
            hit = client.chat("openai", USER, base_url=server.url, api_key="k")
            edits = [
                lambda: operator.setitem(hit.tool_calls[0].arguments, "amount", 1_000_000),
                lambda: hit.tool_calls[0].arguments["to"].append("mallory"),
                lambda: hit.raw["choices"][0]["message"].update(content="poisoned"),
                lambda: hit.raw["choices"].clear(),
                lambda: operator.setitem(hit.metadata, "cache_key", "another"),
            ]
            for edit in edits:
                with pytest.raises(TypeError, match=r"read-only|does not support"):
                    edit()
            again = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert again.tool_calls[0].arguments == {"amount": 10, "to": ["alice"]}
        assert again.raw["choices"][0]["message"]["content"] == "Paying."
        assert again.metadata["cache_key"] == hit.metadata["cache_key"]

    def test_a_read_only_hit_serializes_compares_and_copies_like_plain_json(
        self, client: Client
    ) -> None:
        with ProviderServer() as server:
            pay_once(server)
            live = client.chat("openai", USER, base_url=server.url, api_key="k")
            hit = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert hit == live
        assert json.loads(json.dumps(hit.raw)) == orjson.loads(orjson.dumps(hit.raw)) == live.raw
        editable = copy.deepcopy(hit.tool_calls[0].arguments)
        editable["to"].append("bob")
        assert editable == {"amount": 10, "to": ["alice", "bob"]}
        assert pickle.loads(pickle.dumps(hit.raw)) == hit.raw

    async def test_a_follower_gets_a_copy_the_leaders_caller_cannot_reach(
        self, client: Client
    ) -> None:
        with ProviderServer() as server:
            pay_once(server)
            # Both tasks join the flight before the leader's request is answered: the
            # second runs while the first awaits the network.
            answers = await asyncio.gather(
                *(client.achat("openai", USER, base_url=server.url, api_key="k") for _ in "ab")
            )
        led, followed = sorted(answers, key=lambda answer: answer.metadata["from_cache"])
        assert (led.metadata["from_cache"], followed.metadata["from_cache"]) == (False, True)
        assert len(server.requests) == 1
        led.tool_calls[0].arguments["amount"] = 1_000_000  # type: ignore[index]
        led.raw["choices"].clear()
        assert followed.tool_calls[0].arguments["amount"] == 10
        assert followed.raw["choices"][0]["message"]["content"] == "Paying."
        with pytest.raises(TypeError, match="read-only"):
            followed.raw["choices"].clear()


class TestRefresh:
    """cache="refresh" never leaves the old answer behind, whatever happens to the new one."""

    def test_an_empty_fresh_answer_removes_the_old_entry(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        with ProviderServer() as server:
            server.enqueue(
                json_reply(openai_completion("Paris.")),
                json_reply(openai_completion("")),
                json_reply(openai_completion("Paris, France.")),
            )
            client.chat("openai", USER, base_url=server.url, api_key="k")
            refreshed = client.chat(
                "openai", USER, base_url=server.url, api_key="k", cache="refresh"
            )
            assert refreshed.content == ""
            assert strategy.stats().entries == 0
            after = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert after.content == "Paris, France."
        assert after.metadata["from_cache"] is False
        assert len(server.requests) == 3

    async def test_an_empty_fresh_answer_removes_the_old_entry_async(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        with ProviderServer() as server:
            server.enqueue(
                json_reply(openai_completion("Paris.")), json_reply(openai_completion(""))
            )
            await client.achat("openai", USER, base_url=server.url, api_key="k")
            await client.achat("openai", USER, base_url=server.url, api_key="k", cache="refresh")
        assert strategy.stats().entries == 0

    def test_a_fresh_answer_too_large_to_keep_removes_the_old_entry(self, clock: FakeClock) -> None:
        store = MemoryStore(max_bytes=4096, clock=clock, cleanup_interval=None)
        with ProviderServer() as server, Client(cache_strategy=ProductionStrategy(store)) as client:
            server.enqueue(
                json_reply(openai_completion("Paris.")),
                json_reply(openai_completion("Paris. " * 1000)),
                json_reply(openai_completion("Paris.")),
            )
            client.chat("openai", USER, base_url=server.url, api_key="k")
            client.chat("openai", USER, base_url=server.url, api_key="k", cache="refresh")
            after = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert after.metadata["from_cache"] is False
        assert len(server.requests) == 3


class DiskFullStore(MemoryStore):
    """A user's store whose writes fail, as a store backed by a full disk would."""

    def set(self, key: str, entry: CacheEntry) -> None:
        raise OSError(28, "No space left on device")

    async def aset(self, key: str, entry: CacheEntry) -> None:
        self.set(key, entry)


class TestStoreErrors:
    """A store that fails to write never costs the caller the answer it paid for."""

    @pytest.fixture
    def errors(self) -> Iterator[list[dict[str, Any]]]:
        seen: list[dict[str, Any]] = []
        telemetry.attach(
            "test-put-errors", [telemetry.CACHE_ERROR], lambda _e, _m, meta: seen.append(meta)
        )
        yield seen
        telemetry.detach("test-put-errors")

    def test_the_caller_gets_the_answer_and_the_error_is_reported(
        self, clock: FakeClock, errors: list[dict[str, Any]]
    ) -> None:
        strategy = ProductionStrategy(DiskFullStore(clock=clock, cleanup_interval=None))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            answer = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert answer.content
        assert answer.metadata["from_cache"] is False
        assert [(e["store"], e["reason"]) for e in errors] == [("DiskFullStore", "put_failed")]
        assert "No space left on device" in errors[0]["error"]

    async def test_the_async_caller_gets_the_answer(self, clock: FakeClock) -> None:
        strategy = ProductionStrategy(DiskFullStore(clock=clock, cleanup_interval=None))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            answer = await client.achat("openai", USER, base_url=server.url, api_key="k")
        assert answer.content

    @pytest.mark.parametrize("calling", ["chat", "achat"])
    async def test_the_report_names_the_key_and_the_error(
        self, clock: FakeClock, errors: list[dict[str, Any]], calling: str
    ) -> None:
        strategy = ProductionStrategy(DiskFullStore(clock=clock, cleanup_interval=None))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            options: dict[str, Any] = {"base_url": server.url, "api_key": "k", "cache_key": "q"}
            if calling == "chat":
                client.chat("openai", USER, **options)
            else:
                await client.achat("openai", USER, **options)
        assert errors == [
            {
                "store": "DiskFullStore",
                "reason": "put_failed",
                "key": cache_key("openai", USER, {"cache_key": "q"}),
                "error": "OSError: [Errno 28] No space left on device",
            }
        ]

    def test_a_failed_refresh_removes_the_old_entry(self, clock: FakeClock) -> None:
        store = DiskFullStore(clock=clock, cleanup_interval=None)
        key = cache_key("openai", USER, {"cache_key": "q"})
        # An answer stored before the disk filled up.
        old = make_entry(LLMResponse("Lyon.", "gpt-4o-mini", "openai"), key, clock(), 900.0)
        MemoryStore.set(store, key, old)
        with ProviderServer() as server, Client(cache_strategy=ProductionStrategy(store)) as client:
            options: dict[str, Any] = {"base_url": server.url, "api_key": "k", "cache_key": "q"}
            refreshed = client.chat("openai", USER, cache="refresh", **options)
            after = client.chat("openai", USER, **options)
        assert refreshed.content != "Lyon."
        assert after.content != "Lyon."
        assert after.metadata["from_cache"] is False
        assert len(server.requests) == 2


class TestArguments:
    """The strategy's constructor refuses what is not a store or a flight lock, by name."""

    @pytest.mark.parametrize("bad", ["memory", MemoryStore, {"max_entries": 10}])
    def test_a_store_that_is_not_one_is_refused(self, bad: object) -> None:
        with pytest.raises(ValidationError, match="ProductionStrategy store must be a cache store"):
            ProductionStrategy(bad)  # type: ignore[arg-type]

    def test_a_lock_that_is_not_one_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="ProductionStrategy lock must be a flight lock"):
            ProductionStrategy(lock="redis://localhost")  # type: ignore[arg-type]

    def test_a_semantic_cache_that_is_not_one_is_refused_with_what_it_lacks(self) -> None:
        with pytest.raises(ValidationError) as raised:
            ProductionStrategy(semantic="all-MiniLM-L6-v2")  # type: ignore[arg-type]
        assert str(raised.value) == (
            "ProductionStrategy semantic must be a SemanticCache, "
            "got 'all-MiniLM-L6-v2' (it has no applies)"
        )

    def test_no_store_means_a_memory_store(self) -> None:
        assert isinstance(ProductionStrategy().store, MemoryStore)


def _timed(events: Any, name: tuple[str, ...]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(measurements, metadata) for event, measurements, metadata in events if event == name]


class TestAsyncEvents:
    """An async call reports its miss, put and hit as a sync call does, with the same labels."""

    async def test_a_miss_then_a_hit_report_the_key_and_the_match(
        self, client: Client, events: Any
    ) -> None:
        await client.achat("mock", USER)
        hit = await client.achat("mock", USER)
        key = hit.metadata["cache_key"]
        assert [event[0][-1] for event in events] == ["miss", "put", "hit"]
        (_, missed), (_, put), (_, served) = (event[1:] for event in events)
        assert missed["key"] == put["key"] == served["key"] == key
        assert (served["provider"], served["model"], served["match"]) == ("mock", "mock-1", "exact")

    async def test_durations_fit_inside_the_calls_that_measured_them(
        self, client: Client, events: Any
    ) -> None:
        before = time.perf_counter_ns()
        await client.achat("mock", USER)
        await client.achat("mock", USER)
        elapsed = time.perf_counter_ns() - before
        [(put, _)] = _timed(events, telemetry.CACHE_PUT)
        [(hit, _)] = _timed(events, telemetry.CACHE_HIT)
        [(miss, _)] = _timed(events, telemetry.CACHE_MISS)
        for duration in (put["compute_ns"], hit["duration_ns"], miss["duration_ns"]):
            assert 0 <= duration <= elapsed

    def test_a_sync_misses_compute_time_fits_inside_the_call(
        self, client: Client, events: Any
    ) -> None:
        before = time.perf_counter_ns()
        client.chat("mock", USER)
        elapsed = time.perf_counter_ns() - before
        [(put, _)] = _timed(events, telemetry.CACHE_PUT)
        assert 0 <= put["compute_ns"] <= elapsed

    def test_a_sync_hits_duration_fits_inside_the_call(self, client: Client, events: Any) -> None:
        client.chat("mock", USER)
        before = time.perf_counter_ns()
        client.chat("mock", USER)
        elapsed = time.perf_counter_ns() - before
        [(hit, metadata)] = _timed(events, telemetry.CACHE_HIT)
        assert 0 < hit["duration_ns"] <= elapsed
        assert metadata["match"] == "exact"


class TestAsyncControls:
    """cache=False and cache="refresh" behave the same from achat as from chat."""

    async def test_cache_false_returns_the_providers_answer_and_stores_nothing(
        self, client: Client, mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        response = await client.achat("mock", USER, cache=False)
        assert response.content == "Paris."
        assert response.metadata["from_cache"] is False
        assert strategy.stats().entries == 0


class DiskGoneStore(DiskFullStore):
    """A user's store whose disk went away: writes fail, and so do deletes."""

    def delete(self, key: str) -> bool:
        raise OSError(5, "Input/output error")

    async def adelete(self, key: str) -> bool:
        return self.delete(key)


class TestStoreErrorsAsync:
    """An async store error while storing never reaches the caller, whatever else fails."""

    @pytest.mark.parametrize("calling", ["chat", "achat"])
    async def test_a_store_that_cannot_delete_either_still_answers(
        self, clock: FakeClock, calling: str
    ) -> None:
        strategy = ProductionStrategy(DiskGoneStore(clock=clock, cleanup_interval=None))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            options: dict[str, Any] = {"base_url": server.url, "api_key": "k"}
            if calling == "chat":
                answer = client.chat("openai", USER, **options)
            else:
                answer = await client.achat("openai", USER, **options)
        assert answer.content
        assert answer.metadata["from_cache"] is False

    async def test_a_failed_async_refresh_removes_the_old_entry(self, clock: FakeClock) -> None:
        store = DiskFullStore(clock=clock, cleanup_interval=None)
        key = cache_key("openai", USER, {"cache_key": "q"})
        old = make_entry(LLMResponse("Lyon.", "gpt-4o-mini", "openai"), key, clock(), 900.0)
        MemoryStore.set(store, key, old)
        with ProviderServer() as server, Client(cache_strategy=ProductionStrategy(store)) as client:
            options: dict[str, Any] = {"base_url": server.url, "api_key": "k", "cache_key": "q"}
            refreshed = await client.achat("openai", USER, cache="refresh", **options)
        assert refreshed.content != "Lyon."
        assert store.get(key) is None
