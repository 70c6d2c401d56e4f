"""With a DiskStore, vectors are kept beside the entries and come back after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.semantic.sidecar import FILE_NAME, VectorFile
from exllm_py.cache.stores.disk import DiskStore
from tests.cache.semantic.conftest import answer_to
from tests.cache.semantic.test_contextual import ask, user
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.fakes.provider_server import ProviderServer

ASKED, REWORDED = "What is the capital of France?", "what is the capital of france"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[DiskStore]]:
    """Every DiskStore a test opens over ``tmp_path``, closed at the end."""
    opened: list[DiskStore] = []
    yield opened
    for store in opened:
        store.close()


def restart(tmp_path: Path, stores: list[DiskStore], embedder: WordsEmbedder) -> ProductionStrategy:
    """A strategy as a fresh process builds it over the same directory."""
    store = DiskStore(tmp_path)
    stores.append(store)
    return ProductionStrategy(store, semantic=SemanticCache(embedder, threshold=0.8))


class TestVectorsOnDisk:
    """A restart keeps what was indexed, for the same embedder only."""

    def test_a_restart_keeps_the_semantic_matches(
        self, tmp_path: Path, stores: list[DiskStore], provider: ProviderServer
    ) -> None:
        with Client(cache_strategy=restart(tmp_path, stores, WordsEmbedder())) as client:
            ask(client, provider, user(ASKED))
        assert (tmp_path / FILE_NAME).exists()
        with Client(cache_strategy=restart(tmp_path, stores, WordsEmbedder())) as client:
            hit = ask(client, provider, user(REWORDED))
        assert hit.content == answer_to(ASKED)
        assert hit.metadata["cache_match"] == "semantic"

    def test_another_embedders_vectors_are_not_loaded(
        self, tmp_path: Path, stores: list[DiskStore], provider: ProviderServer
    ) -> None:
        with Client(cache_strategy=restart(tmp_path, stores, WordsEmbedder(128))) as client:
            ask(client, provider, user(ASKED))
        strategy = restart(tmp_path, stores, WordsEmbedder(256))
        assert strategy.semantic is not None
        assert len(strategy.semantic.index) == 0

    def test_a_deleted_entry_loses_its_row(
        self, tmp_path: Path, stores: list[DiskStore], provider: ProviderServer
    ) -> None:
        strategy = restart(tmp_path, stores, WordsEmbedder())
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED))
            assert strategy.invalidate(provider="openai") == 1
        file = VectorFile(tmp_path, WordsEmbedder().name)
        try:
            assert list(file.rows()) == []
        finally:
            file.close()
        assert len(restart(tmp_path, stores, WordsEmbedder()).semantic.index) == 0  # type: ignore[union-attr]
