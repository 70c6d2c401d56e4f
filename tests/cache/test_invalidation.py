"""Invalidation as a user meets it: tag calls, then ``strategy.invalidate(...)`` what went stale."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, MockProvider, cached
from exllm_py.cache.entry import EntryLabels
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ValidationError
from tests.clocks import FakeClock
from tests.fakes import ProviderServer, json_reply, openai_completion


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def strategy(clock: FakeClock) -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(clock=clock, cleanup_interval=None))


@pytest.fixture
def mock() -> MockProvider:
    return MockProvider("An answer.")


@pytest.fixture
def client(strategy: ProductionStrategy, mock: MockProvider) -> Iterator[Client]:
    with Client(cache_strategy=strategy, mock=mock) as client:
        yield client


class TestCacheTags:
    """``cache_tags`` label what a call stores; they never change which entry it reads."""

    def test_the_entry_carries_the_calls_labels(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        """Provider and model as the call named them, its namespace, its tags (duplicates once)."""
        client.chat("mock", ask("q"), cache_tags=["docs-v3", "tenant-a", "docs-v3"])
        client.chat("mock", ask("q"), cache_namespace="ns", cache_tags=("t",))
        store = strategy.store
        assert isinstance(store, MemoryStore)
        labels = {entry.labels for entry in store._entries.values()}
        assert labels == {
            EntryLabels("mock", "mock-1", None, ("docs-v3", "tenant-a")),
            EntryLabels("mock", "mock-1", "ns", ("t",)),
        }

    def test_tags_do_not_enter_the_key(self, client: Client, mock: MockProvider) -> None:
        """The same call with other tags is a hit on the first call's entry."""
        first = client.chat("mock", ask("q"), cache_tags=["a"])
        second = client.chat("mock", ask("q"), cache_tags=["b"])
        assert mock.calls == 1
        assert first.metadata["from_cache"] is False
        assert second.metadata["from_cache"] is True

    @pytest.mark.parametrize("tags", ["docs-v3", ["ok", ""], [1], {"a": 1}])
    def test_bad_tags_are_refused_before_any_request(
        self, client: Client, mock: MockProvider, tags: object
    ) -> None:
        """A string, an empty tag or a non-string fails naming cache_tags; nothing is sent."""
        with pytest.raises(ValidationError, match="cache_tags must be a list of non-empty"):
            client.chat("mock", ask("q"), cache_tags=tags)
        assert mock.calls == 0


class TestStrategyInvalidate:
    """``strategy.invalidate(...)`` removes what every filter matches, and the next call pays."""

    def test_a_tag_invalidates_its_entries_and_only_those(
        self, client: Client, strategy: ProductionStrategy, mock: MockProvider
    ) -> None:
        """Entries of other tags stay cached; the invalidated call goes to the provider again."""
        client.chat("mock", ask("docs"), cache_tags=["docs-v3"])
        client.chat("mock", ask("other"), cache_tags=["other"])
        assert strategy.invalidate(tag="docs-v3") == 1
        client.chat("mock", ask("docs"))
        client.chat("mock", ask("other"))
        assert mock.calls == 3

    def test_provider_and_model_go_by_what_the_call_asked_for(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        """``model=`` matches the requested model; a different model keeps its entries."""
        client.chat("mock", ask("q"), model="mock-1")
        client.chat("mock", ask("q"), model="mock-2")
        assert strategy.invalidate(provider="mock", model="mock-2") == 1
        assert strategy.invalidate(provider="openai") == 0
        assert strategy.invalidate(provider="mock") == 1

    def test_model_is_the_one_asked_for_not_the_one_that_answered(
        self, strategy: ProductionStrategy
    ) -> None:
        """OpenAI answers "gpt-4o" with a dated model; the entry goes by what the call named."""
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(json_reply(openai_completion("Hi.", model="gpt-4o-2024-08-06")))
            answer = client.chat(
                "openai", ask("q"), model="gpt-4o", api_key="sk-test", base_url=server.url
            )
            assert answer.model == "gpt-4o-2024-08-06"
            assert strategy.invalidate(model="gpt-4o-2024-08-06") == 0
            assert strategy.invalidate(provider="openai", model="gpt-4o") == 1

    def test_older_than_takes_seconds_or_a_timedelta(
        self, client: Client, strategy: ProductionStrategy, clock: FakeClock
    ) -> None:
        """Entries stored longer ago than ``older_than`` go, by the store's clock."""
        client.chat("mock", ask("old"), cache_ttl=None)
        clock.tick(3600)
        client.chat("mock", ask("new"), cache_ttl=None)
        assert strategy.invalidate(older_than=datetime.timedelta(hours=2)) == 0
        assert strategy.invalidate(older_than=datetime.timedelta(minutes=30)) == 1
        clock.tick(60)
        assert strategy.invalidate(older_than=59.5) == 1

    def test_a_dry_run_counts_and_removes_nothing(
        self, client: Client, strategy: ProductionStrategy, mock: MockProvider
    ) -> None:
        """``dry_run=True`` says how many would go; every answer is still served from the cache."""
        client.chat("mock", ask("a"), cache_tags=["t"])
        client.chat("mock", ask("b"), cache_tags=["t"])
        assert strategy.invalidate(tag="t", dry_run=True) == 2
        client.chat("mock", ask("a"))
        client.chat("mock", ask("b"))
        assert mock.calls == 2

    def test_a_key_invalidates_that_answer(
        self, client: Client, strategy: ProductionStrategy, mock: MockProvider
    ) -> None:
        """The ``cache_key`` a hit reports removes exactly that entry."""
        client.chat("mock", ask("q"))
        key = client.chat("mock", ask("q")).metadata["cache_key"]
        assert strategy.invalidate(key=key) == 1
        assert strategy.invalidate(key=key) == 0
        assert client.chat("mock", ask("q")).metadata["from_cache"] is False

    def test_namespaces_are_invalidated_apart(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        """A namespace filter leaves other namespaces' entries, and un-namespaced ones, alone."""
        for namespace in ("tenant-a", "tenant-b", None):
            client.chat("mock", ask("q"), cache_namespace=namespace)
        assert strategy.invalidate(namespace="tenant-a") == 1
        assert len(strategy.store) == 2  # type: ignore[arg-type]

    async def test_ainvalidate_for_async_callers(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        """The async twin removes the same entries."""
        await client.achat("mock", ask("q"), cache_tags=["t"])
        assert await strategy.ainvalidate(tag="t") == 1
        assert await strategy.ainvalidate(tag="t") == 0

    @pytest.mark.parametrize(
        "only",
        [
            {"provider": "openai"},
            {"model": "mock-2"},
            {"namespace": "tenant-a"},
            {"older_than": 30.0},
        ],
        ids=lambda only: next(iter(only)),
    )
    async def test_ainvalidate_takes_each_filter_alone(
        self, client: Client, strategy: ProductionStrategy, clock: FakeClock, only: dict[str, Any]
    ) -> None:
        """Each filter given alone to the async twin selects by it, as the sync one does."""
        await client.achat("mock", ask("old"), model="mock-2", cache_namespace="tenant-a")
        clock.tick(60)
        await client.achat("mock", ask("new"), model="mock-1")
        expected = 0 if only.get("provider") == "openai" else 1
        assert await strategy.ainvalidate(**only, dry_run=True) == expected
        assert len(strategy.store) == 2  # type: ignore[arg-type]
        assert await strategy.ainvalidate(**only) == expected
        assert len(strategy.store) == 2 - expected  # type: ignore[arg-type]

    async def test_ainvalidate_by_key_removes_that_answer_only(
        self, client: Client, strategy: ProductionStrategy
    ) -> None:
        await client.achat("mock", ask("kept"))
        await client.achat("mock", ask("gone"))
        key = (await client.achat("mock", ask("gone"))).metadata["cache_key"]  # a hit names it
        assert await strategy.ainvalidate(key=key, dry_run=True) == 1
        assert await strategy.ainvalidate(key=key) == 1
        assert len(strategy.store) == 1  # type: ignore[arg-type]

    def test_enum_tags_work_both_ways(self, client: Client, strategy: ProductionStrategy) -> None:
        """A StrEnum tag labels the entry with its value, and invalidates it by either."""

        class Tag(enum.StrEnum):
            DOCS = "docs-v3"

        client.chat("mock", ask("a"), cache_tags=[Tag.DOCS])
        client.chat("mock", ask("b"), cache_tags=["docs-v3"])
        assert strategy.invalidate(tag=Tag.DOCS) == 2

    def test_cached_functions_are_invalidated_by_their_name(
        self, strategy: ProductionStrategy
    ) -> None:
        """``@cached`` entries have provider "function" and the function's qualified name."""
        runs: list[str] = []

        @cached(store=strategy.store)
        def embed(text: str) -> list[float]:
            runs.append(text)
            return [float(len(text))]

        embed("a")
        embed("a")
        name = f"{embed.__module__}.{embed.__qualname__}"
        assert strategy.invalidate(provider="function", model=name) == 1
        embed("a")
        assert runs == ["a", "a"]


class TestFiltersAreChecked:
    """Bad filters fail before any store is touched, naming the filter."""

    def test_no_filter_at_all_is_refused(self, strategy: ProductionStrategy) -> None:
        """An empty invalidate would empty the store: it points at clear() instead."""
        with pytest.raises(ValidationError, match=r"at least one filter.*clear\(\)"):
            strategy.invalidate()

    @pytest.mark.parametrize(
        ("filters", "named"),
        [
            ({"tag": ""}, "tag"),
            ({"provider": 3}, "provider"),
            ({"model": ["gpt-4o"]}, "model"),
            ({"namespace": ""}, "namespace"),
            ({"key": b"abc"}, "key"),
            ({"older_than": -1}, "older_than"),
            ({"older_than": float("nan")}, "older_than"),
            ({"older_than": float("inf")}, "older_than"),
            ({"older_than": "1h"}, "older_than"),
            ({"older_than": True}, "older_than"),
        ],
    )
    def test_a_bad_filter_names_itself(
        self, strategy: ProductionStrategy, filters: dict[str, object], named: str
    ) -> None:
        with pytest.raises(ValidationError, match=rf"invalidate {named} must be"):
            strategy.invalidate(**filters)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("filters", "shown"),
        [({"tag": ""}, "got ''"), ({"older_than": -1}, "got -1"), ({"model": 7}, "got 7")],
    )
    def test_the_message_shows_the_value_given(
        self, filters: dict[str, object], shown: str
    ) -> None:
        with pytest.raises(ValidationError, match=shown):
            Invalidation(**filters)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("filters", "message"),
        [
            ({"namespace": ""}, "invalidate namespace must be a non-empty string, got ''"),
            (
                {"older_than": -1},
                "invalidate older_than must be seconds >= 0 or a timedelta, got -1",
            ),
            (
                {},
                "invalidate needs at least one filter: tag, provider, model, namespace, "
                "older_than or key (to remove every entry, use the store's clear())",
            ),
        ],
        ids=["text", "age", "none"],
    )
    def test_the_whole_message(self, filters: dict[str, object], message: str) -> None:
        with pytest.raises(ValidationError) as raised:
            Invalidation(**filters)  # type: ignore[arg-type]
        assert str(raised.value) == message

    @pytest.mark.parametrize("seconds", [0, 0.5, 86400])
    def test_any_age_from_zero_up_is_a_filter(self, seconds: float) -> None:
        """``older_than=0`` is every entry stored before now; fractions of a second count."""
        assert Invalidation(older_than=seconds).older_than == seconds

    def test_describe_lists_the_filters_given(self) -> None:
        """What a CLI or a log shows of a selector: only the filters given, in a fixed order."""
        selector = Invalidation(model="gpt-4o", tag="docs-v3", older_than=60)
        assert selector.describe() == "tag='docs-v3', model='gpt-4o', older_than=60"


class TestMatches:
    """``Invalidation.matches``: every filter given must hold, ages strictly older."""

    LABELS = EntryLabels("openai", "gpt-4o", "ns", ("docs-v3",))

    def test_a_key_filter_refuses_other_keys_whatever_else_matches(self) -> None:
        selector = Invalidation(key="k1", tag="docs-v3")
        assert selector.matches("k1", self.LABELS, 0.0, 100.0)
        assert not selector.matches("k2", self.LABELS, 0.0, 100.0)

    def test_an_entry_exactly_older_than_the_age_stays(self) -> None:
        """Stored exactly ``older_than`` seconds ago is not older than that."""
        selector = Invalidation(older_than=60)
        assert not selector.matches("k", self.LABELS, 40.0, 100.0)
        assert selector.matches("k", self.LABELS, 39.9, 100.0)

    @pytest.mark.parametrize(
        ("name", "other"),
        [
            ("tag", "docs-v4"),
            ("provider", "anthropic"),
            ("model", "gpt-4o-mini"),
            ("namespace", "other-ns"),
            ("key", "k2"),
        ],
    )
    def test_each_filter_alone_selects_by_its_own_label(self, name: str, other: str) -> None:
        """The entry's own label matches; any other value of that one filter does not."""
        own = {"tag": "docs-v3", "provider": "openai", "model": "gpt-4o", "namespace": "ns"}
        own["key"] = "k1"
        assert Invalidation(**{name: own[name]}).matches("k1", self.LABELS, 0.0, 100.0)
        assert not Invalidation(**{name: other}).matches("k1", self.LABELS, 0.0, 100.0)

    def test_every_filter_must_hold(self) -> None:
        """One filter that fails is enough to keep the entry, whatever the others say."""
        selector = Invalidation(provider="openai", model="gpt-4o", namespace="other-ns")
        assert not selector.matches("k1", self.LABELS, 0.0, 100.0)
        assert Invalidation(provider="openai", model="gpt-4o", namespace="ns").matches(
            "k1", self.LABELS, 0.0, 100.0
        )
