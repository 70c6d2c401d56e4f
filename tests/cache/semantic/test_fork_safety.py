"""A forked child can count semantic hits even if a parent thread held the counts lock at the fork.

The lock is held by a second thread across a real ``os.fork()``; the child
must serve a reworded question by meaning within a bounded time, or it is
killed and the test fails (see ``tests.cache.test_fork_safety``).
"""

from __future__ import annotations

import os

import pytest

from exllm_py import Client, MockProvider
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stores.memory import MemoryStore
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.cache.test_fork_safety import run_in_child_while_held

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

ASKED, REWORDED = "What is the capital of France?", "what is the capital of france"


class TestCountsLock:
    """The semantic cache's counts lock is renewed in a forked child."""

    def test_a_child_serves_and_counts_a_semantic_hit(self) -> None:
        semantic = SemanticCache(WordsEmbedder(), threshold=0.8)
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)
        mock = MockProvider(lambda messages: f"answer to: {messages[-1]['content']}")
        with Client(cache_strategy=strategy, mock=mock) as client:
            client.chat("mock", [{"role": "user", "content": ASKED}], cache="semantic")

            def serve_by_meaning() -> None:
                messages = [{"role": "user", "content": REWORDED}]
                served = client.chat("mock", messages, cache="semantic")
                assert served.content == f"answer to: {ASKED}"
                assert semantic.hits == 1

            run_in_child_while_held(semantic, "_counts_lock", serve_by_meaning)
        assert semantic.hits == 0  # the parent served nothing by meaning
