"""CacheStats: the counters ``strategy.stats()`` reports, and their plain-dict form."""

from __future__ import annotations

from exllm_py import Client, MockProvider
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.memory import MemoryStore
from tests.clocks import FakeClock


class TestAsDict:
    """``as_dict()`` is every counter by name plus ``hit_rate``, ready for JSON or metrics."""

    def test_a_strategy_s_counters_come_out_by_name(self) -> None:
        """One miss and two hits of one answer: each counter, and the rate, under its own name."""
        store = MemoryStore(clock=FakeClock(), cleanup_interval=None)
        strategy = ProductionStrategy(store)
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            for _ in range(3):
                client.chat("mock", [{"role": "user", "content": "capital of France?"}])
        stats = strategy.stats()
        assert stats.as_dict() == {
            "hits": 2,
            "misses": 1,
            "puts": 1,
            "evictions": 0,
            "expirations": 0,
            "entries": 1,
            "bytes": stats.bytes,
            "semantic_hits": 0,
            "hit_rate": 2 / 3,
        }
        assert stats.bytes == store.stats().bytes > 0

    def test_no_lookups_is_a_rate_of_zero(self) -> None:
        """Before any lookup the rate is 0.0, not a division by zero."""
        assert CacheStats().as_dict()["hit_rate"] == 0.0
