"""With a DiskStore, vectors are kept beside the entries and come back after a restart."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.semantic.sidecar import FILE_NAME, VectorFile
from exllm_py.cache.stores.disk import DiskStore
from tests.cache.semantic.conftest import Events, answer_to
from tests.cache.semantic.test_contextual import ask, user
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.cache.test_fork_safety import run_in_child_while_held
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


class TestAFileThatCannotBeWritten:
    """A vector the file refuses is reported and kept in memory: this process still matches it."""

    def test_the_table_gone_from_under_the_cache(
        self, tmp_path: Path, stores: list[DiskStore], provider: ProviderServer, events: Events
    ) -> None:
        strategy = restart(tmp_path, stores, WordsEmbedder())
        with sqlite3.connect(tmp_path / FILE_NAME) as connection:
            connection.execute("DROP TABLE vectors")
        connection.close()
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED))
            hit = ask(client, provider, user(REWORDED))
        assert hit.metadata["cache_match"] == "semantic"
        errors = [meta for name, _, meta in events if name[-1] == "error"]
        assert [(meta["store"], meta["reason"], meta["key"]) for meta in errors] == [
            ("semantic", "persist_failed", hit.metadata["cache_key"])
        ]
        assert errors[0]["error"] == "OperationalError: no such table: vectors"


class TestAnUnreadableRow:
    """A row whose question the guard cannot read is passed over and reported, never served."""

    def test_a_question_stored_as_bytes(
        self, tmp_path: Path, stores: list[DiskStore], provider: ProviderServer, events: Events
    ) -> None:
        with Client(cache_strategy=restart(tmp_path, stores, WordsEmbedder())) as client:
            ask(client, provider, user(ASKED))
        # What another program (or a damaged file) may leave: SQLite keeps any type in a column.
        with sqlite3.connect(tmp_path / FILE_NAME) as connection:
            connection.execute("UPDATE vectors SET question = CAST(question AS BLOB)")
            ((key,),) = connection.execute("SELECT key FROM vectors").fetchall()
        connection.close()
        with Client(cache_strategy=restart(tmp_path, stores, WordsEmbedder())) as client:
            answer = ask(client, provider, user(REWORDED))
        assert answer.content == answer_to(REWORDED)
        errors = [meta for name, _, meta in events if name[-1] == "error"]
        assert [(meta["reason"], meta["key"]) for meta in errors] == [("guard_failed", key)]
        assert errors[0]["error"].startswith("TypeError: ")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestAfterAFork:
    """A forked child uses the vector file even if a parent thread held its lock at the fork."""

    def test_the_child_writes_and_reads_rows(self, tmp_path: Path) -> None:
        file = VectorFile(tmp_path, "words")
        file.save("before", "partition", ASKED, [1.0, 0.0])

        def action() -> None:
            file.save("in-child", "partition", REWORDED, [0.0, 1.0])
            assert {key for key, _, _, _ in file.rows()} == {"before", "in-child"}

        try:
            run_in_child_while_held(file, "_lock", action)
        finally:
            file.close()
