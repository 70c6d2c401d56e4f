"""The semantic cache: lookup time at 1k and 100k entries, and what it costs exact hits.

Lookup time is the whole semantic lookup of one call but the embedding
itself (the embedder returns a vector computed beforehand): the partition
key, the search of the partition's matrix (384 dimensions, MiniLM's size),
the lexical guard and the store read of the match. All entries share one
partition: the worst case, since a real cache spreads them over many.

The exact hit is ``chat()`` served from a ``MemoryStore``, with a
``SemanticCache(default=True)`` on the strategy and without one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import structlog

import exllm_py
from bench.hit_path import _environment
from bench.measure import Row, median_ns, row
from exllm_py.cache.entry import make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.semantic import lookup as semantic_flow
from exllm_py.cache.semantic.effects import SemanticEffect
from exllm_py.cache.semantic.subject import subject_of
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.strategy import CacheLookup
from exllm_py.demo.server import SimulatedOpenAI
from exllm_py.request import CacheControl
from exllm_py.types import LLMResponse

__all__ = ["main"]

DIMENSION = 384
QUESTION = "Which train goes from Paris to Berlin on a weekday morning?"
MESSAGES = [{"role": "user", "content": QUESTION}]


class _Preset:
    """An embedder whose one vector was computed beforehand: the embedding costs nothing."""

    name = "bench:preset"

    def __init__(self, vector: Sequence[float]) -> None:
        self.vector = vector

    def embed(self, texts: Sequence[str]) -> list[Sequence[float]]:
        return [self.vector for _ in texts]

    async def aembed(self, texts: Sequence[str]) -> list[Sequence[float]]:
        return self.embed(texts)


class _Config:
    base_url = "https://api.openai.com/v1"


class _Call:
    """What the pipeline's call offers a lookup: messages, options, configuration."""

    messages = MESSAGES
    answer_options: ClassVar[dict[str, Any]] = {"temperature": 0}
    config = _Config()

    def credential(self) -> str | None:
        return None


def main() -> list[Row]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    exllm_py.telemetry.refresh_logging()
    print("\nSemantic cache")
    # The exact hits first: the 100k matrix (150 MB) would weigh on them.
    return [_exact_hit_ratio(), _lookup(1_000, 0.2), _lookup(100_000, 2.0)]


def _lookup(entries: int, target_ms: float) -> Row:
    rng = np.random.default_rng(17)
    matrix = rng.standard_normal((entries, DIMENSION)).astype(np.float32)
    wanted = matrix[entries // 2] + 0.05 * rng.standard_normal(DIMENSION).astype(np.float32)
    semantic = SemanticCache(_Preset(wanted.tolist()), threshold=0.9, default=True)
    store = MemoryStore(max_entries=entries + 1, cleanup_interval=None)
    lookup = CacheLookup("asked", CacheControl(), "openai", "gpt-4o-mini", None, _Call())
    subject = subject_of(lookup)
    assert subject is not None
    answer = LLMResponse(content="The 7:15 ICE.", model="gpt-4o-mini", provider="openai")
    for number, vector in enumerate(matrix):
        key = f"entry-{number}"
        semantic.index.add(subject.partition, key, QUESTION, vector)
        store.set(key, make_entry(answer, key, store.clock(), None))

    probe = _drive(semantic, lookup, store)
    assert probe is not None
    assert probe.match is not None, "the near twin must be found"
    batch = 2000 if entries <= 10_000 else 20
    took = median_ns(lambda: _drive(semantic, lookup, store), batch=batch, batches=9) / 1e6
    return row(
        f"semantic lookup, {entries:,} entries in one partition",
        f"{took:.3f} ms",
        f"≤ {target_ms} ms",
        took <= target_ms,
    )


def _drive(semantic: SemanticCache, lookup: CacheLookup, store: MemoryStore) -> Any:
    flow = semantic_flow.look_up(semantic, lookup, store)
    result: Any = None
    try:
        while True:
            effect = flow.send(result)
            assert isinstance(effect, SemanticEffect)
            result = effect.run()
    except StopIteration as stop:
        return stop.value


def _exact_hit_ratio() -> Row:
    hits: dict[bool, list[float]] = {False: [], True: []}
    with (
        SimulatedOpenAI(latency=0.0) as server,
        _environment(OPENAI_API_KEY="bench-key", OPENAI_BASE_URL=server.url),
    ):
        strategies = {
            False: ProductionStrategy(MemoryStore()),
            True: ProductionStrategy(
                MemoryStore(),
                semantic=SemanticCache(_Preset([1.0] * DIMENSION), default=True),
            ),
        }
        # Interleaved rounds, so drift in machine load hits both alike.
        for _ in range(5):
            for semantic_on, strategy in strategies.items():
                exllm_py.configure(cache_strategy=strategy)
                exllm_py.chat("openai", MESSAGES, model="gpt-4o-mini", temperature=0)
                hits[semantic_on].append(
                    median_ns(
                        lambda: exllm_py.chat(
                            "openai", MESSAGES, model="gpt-4o-mini", temperature=0
                        )
                    )
                )
        exllm_py.client.reset_default_client()
    off, on = min(hits[False]), min(hits[True])
    return row(
        "chat() exact hit, semantic on / off",
        f"{on / 1000:.2f} / {off / 1000:.2f} µs = {on / off:.2f}x",
        "≤ 1.1x",
        on <= 1.1 * off,
    )


if __name__ == "__main__":
    main()
