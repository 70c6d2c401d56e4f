"""Tests for exllm_py.pipeline.embed_validate: an ``embed()`` call's cache controls and refusals.

Vectors come over a real socket from the loopback provider server's
OpenAI-compatible ``/embeddings`` route, through a production cache whose
memory store runs on a fake clock, so that lifetimes are read off the clock.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from exllm_py import Client
from exllm_py.cache.keys import KEY_FORMAT_VERSION
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ConfigurationError, ValidationError
from tests.clocks import FakeClock
from tests.fakes import ProviderServer, provider_server

__all__ = ["provider_server"]

TEXTS = ["What is the capital of France?"]


class Shelf(enum.StrEnum):
    """A tag given as a ``StrEnum`` member, as an application may name its tags."""

    DOCS = "docs-v3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def strategy(clock: FakeClock) -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(default_ttl=900, cleanup_interval=None, clock=clock))


@pytest.fixture
def client(strategy: ProductionStrategy) -> Iterator[Client]:
    with Client(cache_strategy=strategy, env={}) as made:
        yield made


def embed(client: Client, server: ProviderServer, **options: Any) -> list[list[float]]:
    return client.embed("openai", TEXTS, base_url=server.url, api_key="test-key", **options)


def refusal(client: Client, server: ProviderServer, **options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        embed(client, server, **options)
    assert server.requests == [], "a refused call must not reach the provider"
    return str(caught.value)


class TestCacheControls:
    """Each cache option of ``embed()`` works as ``chat()``'s; one set leaves the rest default."""

    def test_a_ttl_sets_the_entrys_lifetime(
        self, client: Client, provider_server: ProviderServer, clock: FakeClock
    ) -> None:
        embed(client, provider_server, cache_ttl=60)
        clock.tick(59)
        embed(client, provider_server, cache_ttl=60)
        assert len(provider_server.requests) == 1
        clock.tick(2)
        embed(client, provider_server, cache_ttl=60)
        assert len(provider_server.requests) == 2

    def test_a_namespace_alone_keeps_the_stores_default_ttl(
        self, client: Client, provider_server: ProviderServer, clock: FakeClock
    ) -> None:
        embed(client, provider_server, cache_namespace="tenant-a")
        clock.tick(899)
        embed(client, provider_server, cache_namespace="tenant-a")
        assert len(provider_server.requests) == 1
        clock.tick(2)
        embed(client, provider_server, cache_namespace="tenant-a")
        assert len(provider_server.requests) == 2

    def test_cache_true_reads_and_writes(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        for _ in range(2):
            embed(client, provider_server, cache=True)
        assert len(provider_server.requests) == 1

    def test_every_cache_option_at_once_is_obeyed(
        self, client: Client, provider_server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        """``cache=False`` still bypasses the cache when every other cache option is given too."""
        controls = {
            "cache": False,
            "cache_ttl": 60,
            "cache_key": "france",
            "cache_namespace": "tenant-a",
            "cache_tags": ["docs-v3"],
        }
        for _ in range(2):
            embed(client, provider_server, **controls)
        assert len(provider_server.requests) == 2
        assert strategy.stats().entries == 0

    def test_without_dimensions_the_key_holds_no_options(
        self, provider_server: ProviderServer
    ) -> None:
        """A call naming no ``dimensions`` is stored under the documented key, options ``{}``."""
        store = MemoryStore(cleanup_interval=None)
        with Client(cache_strategy=ProductionStrategy(store), env={}) as client:
            embed(client, provider_server, model="text-embedding-3-small")
        document = [
            KEY_FORMAT_VERSION,
            None,
            "embed",
            "openai",
            provider_server.url,
            "text-embedding-3-small",
            TEXTS,
            {},
        ]
        key = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
        assert store.get(key) is not None
        assert store.stats().entries == 1

    def test_tags_label_the_entry_by_their_string_values(
        self, client: Client, provider_server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        embed(client, provider_server, cache_tags=[Shelf.DOCS, "tenant-a"])
        assert strategy.invalidate(tag="docs-v3", dry_run=True) == 1
        assert strategy.invalidate(tag="tenant-a") == 1
        embed(client, provider_server, cache_tags=[Shelf.DOCS, "tenant-a"])
        assert len(provider_server.requests) == 2


class TestRefusals:
    """A bad ``embed()`` option is refused before any I/O, with a message saying what to fix."""

    @pytest.mark.parametrize("tags", [["docs-v3", ""], ["docs-v3", 3]], ids=["empty", "number"])
    def test_every_tag_must_be_a_non_empty_string(
        self, client: Client, provider_server: ProviderServer, tags: list[Any]
    ) -> None:
        assert refusal(client, provider_server, cache_tags=tags) == (
            f"cache_tags must be a list of non-empty strings such as ['docs-v3'], got {tags!r}"
        )

    @pytest.mark.parametrize(
        ("texts", "message"),
        [
            (
                "one text",
                "texts must be a list of strings such as ['first text', 'second text'], got str",
            ),
            ([], "texts is empty: pass at least one text to embed"),
        ],
        ids=["a-string", "empty"],
    )
    def test_the_texts_must_be_a_non_empty_list(
        self, client: Client, provider_server: ProviderServer, texts: Any, message: str
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            client.embed("openai", texts, base_url=provider_server.url, api_key="test-key")
        assert str(caught.value) == message
        assert provider_server.requests == []

    def test_more_texts_than_a_request_carries_says_how_to_split(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        texts = [f"text {index}" for index in range(101)]
        with pytest.raises(ValidationError) as caught:
            client.embed("gemini", texts, base_url=provider_server.url, api_key="test-key")
        assert str(caught.value) == (
            "gemini embeds at most 100 texts per request, got 101: "
            "split the list (ProviderEmbedder does)"
        )
        assert provider_server.requests == []

    def test_a_full_batch_is_sent_in_one_request(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        """Exactly as many texts as a request carries is not too many."""
        texts = [f"text {index}" for index in range(100)]
        vectors = client.embed("gemini", texts, base_url=provider_server.url, api_key="test-key")
        assert len(vectors) == 100
        assert len(provider_server.requests) == 1

    def test_a_provider_without_embeddings_names_those_with_them(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        """Anthropic has no embeddings endpoint: the message lists the providers that do."""
        with pytest.raises(ConfigurationError) as caught:
            client.embed("anthropic", TEXTS, base_url=provider_server.url, api_key="test-key")
        message = str(caught.value)
        prefix = "anthropic has no embeddings endpoint; embed with one of "
        suffix = ", or use exllm_py.cache.embedders.LocalEmbedder"
        assert message.startswith(prefix)
        assert message.endswith(suffix)
        named = message.removeprefix(prefix).removesuffix(suffix).split(", ")
        assert named == sorted(named)
        assert {"gemini", "mistral", "openai"} <= set(named)
        assert "anthropic" not in named
        assert provider_server.requests == []

    def test_an_option_like_no_other_gets_no_suggestion(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        message = refusal(client, provider_server, colour="blue")
        assert message.startswith("unknown embed() option 'colour' Known options: ")

    def test_the_known_options_are_listed_in_order(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        message = refusal(client, provider_server, dimension=8)
        assert message.startswith("unknown embed() option 'dimension'; did you mean 'dimensions'? ")
        known = message.partition("Known options: ")[2].split(", ")
        assert known == sorted(known)
        assert {"model", "dimensions", "api_key", "cache_ttl", "cache_tags"} <= set(known)
