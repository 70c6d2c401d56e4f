"""Vectors leave with their entries; hits are visible in metadata, telemetry and stats."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from exllm_py import Client
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.tiered import TIER_KEY, TieredStore
from tests.cache.semantic.conftest import Events, answer_to
from tests.cache.semantic.test_contextual import ask, user
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.clocks import FakeClock
from tests.fakes.provider_server import ProviderServer

ASKED, REWORDED = "What is the capital of France?", "what is the capital of france"


class TestVectorsLeaveWithTheirEntries:
    """An entry gone for any reason is never served by meaning again."""

    def test_delete_drops_the_vector(
        self,
        client: Client,
        provider: ProviderServer,
        strategy: ProductionStrategy,
        semantic: SemanticCache,
    ) -> None:
        ask(client, provider, user(ASKED))
        key = _key(provider, ASKED)
        assert key in semantic.index
        assert strategy.store.delete(key)
        assert key not in semantic.index
        assert ask(client, provider, user(REWORDED)).content == answer_to(REWORDED)

    def test_invalidation_drops_the_vector(
        self,
        client: Client,
        provider: ProviderServer,
        strategy: ProductionStrategy,
        semantic: SemanticCache,
    ) -> None:
        ask(client, provider, user(ASKED), cache_tags=["geo"])
        assert strategy.invalidate(tag="geo") == 1
        assert len(semantic.index) == 0
        assert ask(client, provider, user(REWORDED)).metadata["from_cache"] is False

    def test_an_lru_eviction_drops_the_vector(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        semantic = SemanticCache(embedder, threshold=0.8)
        strategy = ProductionStrategy(MemoryStore(max_entries=1), semantic=semantic)
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED))
            ask(client, provider, user("How tall is the Eiffel tower?"))  # evicts the first
            assert len(semantic.index) == 1
            assert ask(client, provider, user(REWORDED)).metadata["from_cache"] is False

    def test_an_expired_entry_is_not_served_and_loses_its_vector(
        self,
        client: Client,
        provider: ProviderServer,
        clock: FakeClock,
        semantic: SemanticCache,
    ) -> None:
        ask(client, provider, user(ASKED), cache_ttl=60)
        clock.tick(61)
        assert ask(client, provider, user(REWORDED)).content == answer_to(REWORDED)
        assert _key(provider, ASKED) not in semantic.index

    def test_a_cleared_store_serves_nothing_by_meaning(
        self, client: Client, provider: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        ask(client, provider, user(ASKED))
        strategy.store.clear()
        assert ask(client, provider, user(REWORDED)).metadata["from_cache"] is False
        # Met as a candidate, the vector of the entry that went is dropped.
        assert strategy.semantic is not None
        assert _key(provider, ASKED) not in strategy.semantic.index


class TestVisible:
    """Semantic hits are marked, reported with their similarity and counted apart."""

    def test_the_hit_event_says_semantic_with_the_similarity(
        self, client: Client, provider: ProviderServer, events: Events
    ) -> None:
        first = ask(client, provider, user(ASKED))
        hit = ask(client, provider, user(REWORDED))
        hits = [(measured, meta) for name, measured, meta in events if name[-1] == "hit"]
        assert len(hits) == 1
        measured, meta = hits[0]
        assert set(meta) == {"key", "provider", "model", "namespace", "match", "matched_key"}
        assert (meta["provider"], meta["model"], meta["namespace"]) == (
            "openai",
            "gpt-4o-mini",
            None,
        )
        assert meta["match"] == "semantic"
        assert meta["matched_key"] == hit.metadata["cache_key"]
        assert meta["key"] != hit.metadata["cache_key"]  # the call's own key missed
        assert measured["similarity"] == hit.metadata["similarity"]
        assert measured["saved_cost_usd"] == first.cost

    def test_the_hit_event_names_the_namespace_and_the_tier_that_answered(
        self, provider: ProviderServer, events: Events
    ) -> None:
        l1, l2 = MemoryStore(cleanup_interval=None), MemoryStore(cleanup_interval=None)
        semantic = SemanticCache(WordsEmbedder(), threshold=0.8)
        strategy = ProductionStrategy(TieredStore(l1, l2), semantic=semantic)
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED), cache_namespace="tenant-a")
            l1.clear()  # only the second tier has the entry now
            hit = ask(client, provider, user(REWORDED), cache_namespace="tenant-a")
        assert hit.metadata["cache_match"] == "semantic"
        (meta,) = [meta for name, _, meta in events if name[-1] == "hit"]
        assert (meta["namespace"], meta[TIER_KEY]) == ("tenant-a", "l2")

    def test_a_semantic_hit_is_neither_a_miss_nor_an_exact_hit(
        self, client: Client, provider: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        ask(client, provider, user(ASKED))
        ask(client, provider, user(ASKED))
        ask(client, provider, user(REWORDED))
        stats = strategy.stats()
        assert (stats.hits, stats.semantic_hits, stats.misses) == (2, 1, 1)

    def test_an_embedding_failure_is_reported_and_the_call_answered(
        self, provider: ProviderServer, events: Events
    ) -> None:
        semantic = SemanticCache(WordsEmbedder(failing=True), threshold=0.8)
        with Client(cache_strategy=ProductionStrategy(MemoryStore(), semantic=semantic)) as client:
            answer = ask(client, provider, user(ASKED))
        assert answer.content == answer_to(ASKED)
        assert len(semantic.index) == 0
        errors = [meta for name, _, meta in events if name[-1] == "error"]
        assert [(meta["store"], meta["reason"], meta["key"]) for meta in errors] == [
            ("semantic", "embed_failed", _key(provider, ASKED))
        ]
        assert errors[0]["error"].startswith("ProviderError: ")


class TestAsync:
    """``achat`` takes the same flow: async embedding and store reads."""

    async def test_a_reworded_async_question_is_a_semantic_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        options: dict[str, Any] = {
            "base_url": provider.url,
            "api_key": "k",
            "model": "m",
            "cache": "semantic",
        }
        await client.achat("openai", user(ASKED), **options)
        hit, again = await asyncio.gather(
            client.achat("openai", user(REWORDED), **options),
            client.achat("openai", user(REWORDED), **options),
        )
        assert hit.content == again.content == answer_to(ASKED)
        assert len(provider.requests) == 1


class TestImports:
    """The semantic cache costs nothing to those who do not build one."""

    def test_importing_the_library_does_not_load_numpy(self) -> None:
        code = (
            "import sys, exllm_py, exllm_py.cache, exllm_py.cache.semantic;"
            "from exllm_py.cache import SemanticCache;"
            "print('numpy' in sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "False", out.stderr


def _key(provider: ProviderServer, question: str) -> str:
    """The store key of ``question`` as :func:`ask` asks it."""
    options = {"model": "gpt-4o-mini", "base_url": provider.url}
    return cache_key("openai", user(question), options)
