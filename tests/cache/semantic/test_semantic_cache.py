"""The SemanticCache object: what it accepts, what it shows, what it counts and reports."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from exllm_py import Client, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.semantic.sidecar import FILE_NAME
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ConfigurationError
from exllm_py.types import LLMResponse, Message
from tests.cache.semantic.conftest import Events, answer_to
from tests.cache.semantic.test_contextual import ask, user
from tests.cache.semantic.test_lifecycle import _key
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.fakes.provider_server import ProviderServer

ASKED, REWORDED = "What is the capital of France?", "what is the capital of france"
REWORDINGS = (
    "what is the capital of france",
    "What is the capital of France",
    "WHAT IS THE CAPITAL OF FRANCE?",
)


class OnlySync:
    """An embedder with ``embed`` and no ``aembed``."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0] for _ in texts]


class OnlyAsync:
    """An embedder with ``aembed`` and no ``embed``."""

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0] for _ in texts]


class Unnamed(WordsEmbedder):
    """A words embedder without a ``name``: the cache shows its class instead."""

    def __getattribute__(self, name: str) -> Any:
        if name == "name":
            raise AttributeError(name)
        return super().__getattribute__(name)


class NoCloseAwaitable:
    """An awaitable (not a coroutine): nothing to close."""

    def __await__(self) -> Generator[Any, None, bool]:
        yield from ()
        return True


@pytest.fixture
def error_events() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    telemetry.attach("test-semantic-errors", [telemetry.CACHE_ERROR], lambda *e: seen.append(e[2]))
    yield seen
    telemetry.detach("test-semantic-errors")


class TestConstruction:
    """An embedder needs both embed() and aembed(); a verifier must be callable; both are named."""

    @pytest.mark.parametrize("embedder", [OnlySync(), OnlyAsync()], ids=["no-aembed", "no-embed"])
    def test_an_embedder_missing_either_method_is_refused_by_its_type(self, embedder: Any) -> None:
        with pytest.raises(ConfigurationError) as refused:
            SemanticCache(embedder)
        message = str(refused.value)
        assert "must have embed() and aembed()" in message
        assert message.endswith(f"got {type(embedder).__name__}")

    def test_a_verifier_that_is_not_callable_is_named_by_its_type(self) -> None:
        with pytest.raises(ConfigurationError, match=r"-> bool, got int$"):
            SemanticCache(WordsEmbedder(), verifier=42)  # type: ignore[arg-type]

    def test_the_repr_shows_the_settings(self) -> None:
        semantic = SemanticCache(
            WordsEmbedder(), threshold=0.85, verifier=lambda *_: True, default=True
        )
        shown = repr(semantic)
        assert shown.startswith("SemanticCache(embedder='test:words-256', Thresholds(default=0.85")
        assert shown.endswith("guards=True, verifier=True, default=True, vectors=0)")
        assert "guards=False, verifier=False, default=False" in repr(
            SemanticCache(WordsEmbedder(), guards=False)
        )

    def test_an_embedder_without_a_name_is_shown_by_its_class(self) -> None:
        assert repr(SemanticCache(Unnamed())).startswith("SemanticCache(embedder='Unnamed'")


class TestCounts:
    """Every semantic hit is counted, and every match read but refused."""

    def test_each_semantic_hit_counts(
        self, client: Client, provider: ProviderServer, semantic: SemanticCache
    ) -> None:
        ask(client, provider, user(ASKED))
        for question in REWORDINGS:
            assert ask(client, provider, user(question)).metadata["cache_match"] == "semantic"
        assert semantic.hits == len(REWORDINGS)

    def test_each_refused_match_counts_as_an_unserved_read(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        semantic = SemanticCache(embedder, threshold=0.8, verifier=lambda *_: False)
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED))
            for question in REWORDINGS[:2]:
                assert ask(client, provider, user(question)).content == answer_to(question)
        # The first rewording meets one refused match; the second meets two:
        # the question and the first rewording, stored when it was answered.
        assert semantic.unserved_reads == 1 + 2
        assert semantic.hits == 0


class TestHitEvent:
    """A semantic hit's event measures the call: its duration, the cost saved, the similarity."""

    def test_the_measurements_are_the_calls(
        self, client: Client, provider: ProviderServer, events: Events
    ) -> None:
        ask(client, provider, user(ASKED))
        before = time.perf_counter_ns()
        served = ask(client, provider, user(REWORDED))
        elapsed = time.perf_counter_ns() - before
        [(measurements, labels)] = [
            event[1:] for event in events if event[0] == telemetry.CACHE_HIT
        ]
        assert set(measurements) == {"duration_ns", "saved_cost_usd", "similarity"}
        assert 0 < measurements["duration_ns"] <= elapsed
        assert measurements["saved_cost_usd"] == served.metadata["saved_cost"]
        assert measurements["similarity"] == served.metadata["similarity"]
        assert (labels["match"], labels["matched_key"]) == ("semantic", _key(provider, ASKED))


class TestMessageObjects:
    """Questions given as Message objects are matched as their dicts are."""

    def test_a_reworded_message_object_is_a_semantic_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        system = Message(role="system", content="Answer briefly.")
        ask(client, provider, [system, Message(role="user", content=ASKED)])
        hit = ask(client, provider, [system, Message(role="user", content=REWORDED)])
        assert hit.content == answer_to(ASKED)
        assert hit.metadata["cache_match"] == "semantic"


class TestVerifierShapes:
    """Whatever a verifier returns, a sync call serves only what it could confirm."""

    def test_an_awaitable_without_close_is_not_served_by_a_sync_call(
        self,
        provider: ProviderServer,
        embedder: WordsEmbedder,
        error_events: list[dict[str, Any]],
    ) -> None:
        semantic = SemanticCache(embedder, threshold=0.8, verifier=lambda *_: NoCloseAwaitable())
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED))
            assert ask(client, provider, user(REWORDED)).content == answer_to(REWORDED)
        assert error_events == []  # unconfirmed, not failed

    async def test_an_async_verifier_sees_both_questions_and_the_cached_answer(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        seen: list[tuple[str, str, str | None]] = []

        async def verifier(question: str, cached_question: str, cached: LLMResponse) -> bool:
            seen.append((question, cached_question, cached.content))
            await asyncio.sleep(0)
            return True

        semantic = SemanticCache(embedder, threshold=0.8, verifier=verifier)
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)
        options = {"model": "gpt-4o-mini", "base_url": provider.url, "cache": "semantic"}
        with Client(cache_strategy=strategy) as client:
            await client.achat("openai", user(ASKED), api_key="k", **options)
            hit = await client.achat("openai", user(REWORDED), api_key="k", **options)
        assert hit.content == answer_to(ASKED)
        assert seen == [(REWORDED, ASKED, answer_to(ASKED))]


class TestTwoCaches:
    """Two semantic caches in one process each follow the evictions of their entries."""

    def test_each_cache_forgets_its_own_evicted_entry(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        caches = [SemanticCache(embedder), SemanticCache(embedder)]
        stores = [MemoryStore(cleanup_interval=None), MemoryStore(cleanup_interval=None)]
        questions = [ASKED, "How tall is the Eiffel tower?"]
        for semantic, store, question in zip(caches, stores, questions, strict=True):
            with Client(cache_strategy=ProductionStrategy(store, semantic=semantic)) as client:
                ask(client, provider, user(question))
        for semantic, store, question in zip(caches, stores, questions, strict=True):
            key = _key(provider, question)
            assert key in semantic.index
            assert store.delete(key)
            assert key not in semantic.index


class TestPersistenceFailures:
    """A vector file that cannot be used is reported; matching goes on in memory."""

    def test_an_unopenable_vector_file_is_reported_and_matching_stays_in_memory(
        self,
        tmp_path: Path,
        provider: ProviderServer,
        embedder: WordsEmbedder,
        error_events: list[dict[str, Any]],
    ) -> None:
        (tmp_path / FILE_NAME).mkdir()  # where the file would be: SQLite cannot open it
        store = DiskStore(tmp_path)
        try:
            semantic = SemanticCache(embedder, threshold=0.8)
            with Client(cache_strategy=ProductionStrategy(store, semantic=semantic)) as client:
                ask(client, provider, user(ASKED))
                hit = ask(client, provider, user(REWORDED))
        finally:
            store.close()
        assert semantic.vector_file is None
        assert hit.metadata["cache_match"] == "semantic"
        failures = [e for e in error_events if e.get("reason") == "persist_failed"]
        assert [(e["store"], "error" in e) for e in failures] == [("semantic", True)]

    def test_a_forget_that_cannot_reach_the_file_is_reported_with_the_key(
        self,
        tmp_path: Path,
        provider: ProviderServer,
        embedder: WordsEmbedder,
        error_events: list[dict[str, Any]],
    ) -> None:
        store = DiskStore(tmp_path)
        try:
            semantic = SemanticCache(embedder, threshold=0.8)
            with Client(cache_strategy=ProductionStrategy(store, semantic=semantic)) as client:
                ask(client, provider, user(ASKED))
            assert semantic.vector_file is not None
            semantic.vector_file.close()  # the file goes away under the cache
            key = _key(provider, ASKED)
            assert store.delete(key)
        finally:
            store.close()
        assert key not in semantic.index
        failures = [e for e in error_events if e.get("reason") == "persist_failed"]
        assert [(e["store"], e["key"], "error" in e) for e in failures] == [("semantic", key, True)]


class TestLifetime:
    """A cache stops listening for evictions once it is gone; numpy missing is named."""

    def test_a_collected_cache_leaves_no_eviction_handler(self) -> None:
        semantic = SemanticCache(WordsEmbedder())
        handler_id = f"exllm_py.semantic.{id(semantic)}"
        assert telemetry.CACHE_EVICT in telemetry.handlers()[handler_id]
        del semantic
        gc.collect()
        assert handler_id not in telemetry.handlers()

    def test_without_numpy_the_error_says_which_extra_to_install(self) -> None:
        code = (
            "import sys; sys.modules['numpy'] = None\n"
            "from exllm_py.cache.semantic import SemanticCache\n"
            "from tests.cache.semantic.words_embedder import WordsEmbedder\n"
            "try:\n"
            "    SemanticCache(WordsEmbedder())\n"
            "except ImportError as exc:\n"
            "    print(exc)\n"
        )
        shown = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert shown == "SemanticCache needs numpy: pip install 'exllm_py[semantic]'\n"


class TestDiskVectorsByEmbedder:
    """Vectors on disk belong to one embedder: its name, else its class."""

    def test_unnamed_embedders_of_two_classes_keep_their_vectors_apart(
        self, tmp_path: Path, provider: ProviderServer
    ) -> None:
        class OtherUnnamed(Unnamed):
            pass

        for embedder, expected in ((Unnamed(), 0), (Unnamed(), 1), (OtherUnnamed(), 0)):
            store = DiskStore(tmp_path)
            try:
                semantic = SemanticCache(embedder)
                ProductionStrategy(store, semantic=semantic)
                assert len(semantic.index) == expected
                with Client(cache_strategy=ProductionStrategy(store, semantic=semantic)) as client:
                    ask(client, provider, user(ASKED))
            finally:
                store.close()

    async def test_an_async_call_writes_its_vector_for_the_next_process(
        self, tmp_path: Path, provider: ProviderServer
    ) -> None:
        store = DiskStore(tmp_path)
        try:
            strategy = ProductionStrategy(store, semantic=SemanticCache(WordsEmbedder()))
            options = {"model": "gpt-4o-mini", "base_url": provider.url, "cache": "semantic"}
            with Client(cache_strategy=strategy) as client:
                await client.achat("openai", user(ASKED), api_key="k", **options)
        finally:
            store.close()
        store = DiskStore(tmp_path)
        try:
            semantic = SemanticCache(WordsEmbedder())
            ProductionStrategy(store, semantic=semantic)
            assert _key(provider, ASKED) in semantic.index
        finally:
            store.close()

    def test_a_foreign_store_named_diskstore_keeps_vectors_in_memory(
        self, provider: ProviderServer
    ) -> None:
        namesake = type("DiskStore", (MemoryStore,), {})()  # another library's, same name
        semantic = SemanticCache(WordsEmbedder())
        with Client(cache_strategy=ProductionStrategy(namesake, semantic=semantic)) as client:
            ask(client, provider, user(ASKED))
        assert semantic.vector_file is None
        assert len(semantic.index) == 1
