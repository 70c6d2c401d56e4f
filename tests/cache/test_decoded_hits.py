"""Hits decoded per read (Redis) are not frozen again; what is kept to be served again is.

A fresh decode shares nothing, so a RedisStore hit freezes only its metadata
(read-only on every store). TieredStore keeps the decoded response in L1 and
serves it to every later hit: it freezes it, once, as it promotes it. And a
miss freezes the answer once, when its entry is made: the single-flight
followers are served from that entry's frozen parts.
"""

from __future__ import annotations

import operator
import threading
import time
from typing import Any

import httpx
import pytest

import exllm_py.cache.entry as entry_module
import exllm_py.cache.production as production
from exllm_py import Client, MockProvider
from exllm_py.cache.entry import CacheEntry, dump_entry, load_entry, make_entry
from exllm_py.cache.freeze import FrozenDict, FrozenList
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.types import LLMResponse, ToolCall
from tests.clocks import FakeClock
from tests.fakes.payloads import openai_completion

RAW: dict[str, Any] = {"choices": [{"message": {"content": "answer"}, "logprobs": [1, 2]}]}


def _entry(clock: FakeClock) -> CacheEntry:
    response = LLMResponse(
        "answer", "m", "mock", tool_calls=(ToolCall("c", "f", {"q": [1]}),), raw=RAW
    )
    return make_entry(response, "k", clock(), 100.0)


class _DecodingStore:
    """A store that keeps bytes and decodes a fresh entry per hit, as RedisStore does."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.default_ttl: float | None = 100.0
        self.values: dict[str, bytes] = {}

    def get(self, key: str) -> CacheEntry | None:
        value = self.values.get(key)
        return None if value is None else load_entry(value)

    def set(self, key: str, entry: CacheEntry) -> None:
        self.values[key] = dump_entry(entry)

    def delete(self, key: str) -> bool:
        return self.values.pop(key, None) is not None

    def clear(self) -> None:
        self.values.clear()

    async def aget(self, key: str) -> CacheEntry | None:
        return self.get(key)

    async def aset(self, key: str, entry: CacheEntry) -> None:
        self.set(key, entry)

    async def adelete(self, key: str) -> bool:
        return self.delete(key)

    def stats(self) -> CacheStats:
        return CacheStats()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestLoadEntry:
    def test_a_decode_is_not_walked_again_to_freeze_it(self, clock: FakeClock) -> None:
        """raw and tool call arguments stay as decoded: a fresh object, shared with nothing."""
        loaded = load_entry(dump_entry(_entry(clock)))
        assert type(loaded.response.raw) is dict
        assert type(loaded.response.raw["choices"]) is list
        assert type(loaded.response.tool_calls[0].arguments) is dict

    def test_its_metadata_is_read_only(self, clock: FakeClock) -> None:
        loaded = load_entry(dump_entry(_entry(clock)))
        assert type(loaded.response.metadata) is FrozenDict
        with pytest.raises(TypeError):
            operator.setitem(loaded.response.metadata, "cache_key", "another")

    def test_editing_one_decode_changes_no_other(self, clock: FakeClock) -> None:
        payload = dump_entry(_entry(clock))
        first = load_entry(payload)
        first.response.raw["choices"][0]["message"]["content"] = "poisoned"
        first.response.tool_calls[0].arguments["q"].append(2)
        second = load_entry(payload)
        assert second.response.raw == RAW
        assert second.response.tool_calls[0].arguments == {"q": [1]}


class TestTieredPromotion:
    def test_the_promoted_copy_is_frozen_all_the_way_down(self, clock: FakeClock) -> None:
        l1, l2 = MemoryStore(clock=clock, cleanup_interval=None), _DecodingStore(clock)
        tiered = TieredStore(l1, l2)  # type: ignore[arg-type]  # a CacheStore by shape
        l2.set("k", _entry(clock))
        assert tiered.get("k") is not None
        promoted = l1.get("k")
        assert promoted is not None
        response = promoted.response
        assert type(response.raw) is FrozenDict
        assert type(response.raw["choices"]) is FrozenList
        assert type(response.tool_calls[0].arguments) is FrozenDict
        assert type(response.metadata) is FrozenDict

    def test_editing_an_l2_hit_never_reaches_the_promoted_copy(self, clock: FakeClock) -> None:
        l1, l2 = MemoryStore(clock=clock, cleanup_interval=None), _DecodingStore(clock)
        tiered = TieredStore(l1, l2)  # type: ignore[arg-type]  # a CacheStore by shape
        l2.set("k", _entry(clock))
        got = tiered.get("k")
        assert got is not None
        with pytest.raises(TypeError):
            operator.setitem(got.response.metadata, "tier", "l1")  # type: ignore[call-overload]
        got.response.raw["choices"][0]["message"]["content"] = "poisoned"
        got.response.tool_calls[0].arguments["q"].append(2)
        again = tiered.get("k")
        assert again is not None
        assert again.response.metadata["tier"] == "l1"
        assert again.response.raw == RAW
        assert again.response.tool_calls[0].arguments == {"q": [1]}

    def test_over_a_real_redis_l1_hits_are_read_only(
        self, clock: FakeClock, redis_url: str
    ) -> None:
        l2 = RedisStore(redis_url, namespace="decoded", clock=clock, timeout=2.0)
        try:
            tiered = TieredStore(MemoryStore(clock=clock, cleanup_interval=None), l2)
            l2.set("k", _entry(clock))
            first = tiered.get("k")  # from L2: a fresh decode, promoted
            assert first is not None
            first.response.raw["choices"].append({})
            second = tiered.get("k")  # from L1: shared, frozen
            assert second is not None
            assert second.response.raw == RAW
            with pytest.raises(TypeError):
                second.response.raw["choices"].append({})
        finally:
            l2.clear()
            l2.close()


class TestMissFreezesOnce:
    """The followers' copy of a miss reuses the stored entry's frozen parts."""

    @pytest.fixture
    def walks(self, monkeypatch: pytest.MonkeyPatch) -> list[LLMResponse]:
        seen: list[LLMResponse] = []
        frozen_response = entry_module.frozen_response

        def counting(response: LLMResponse) -> LLMResponse:
            seen.append(response)
            return frozen_response(response)

        monkeypatch.setattr(production, "frozen_response", counting)
        return seen

    def test_a_stored_miss_is_not_frozen_again(self, walks: list[LLMResponse]) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            answer = client.chat("mock", [{"role": "user", "content": "capital?"}])
        assert answer.content == "Paris."
        assert walks == []

    async def test_nor_an_async_one(self, walks: list[LLMResponse]) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            answer = await client.achat("mock", [{"role": "user", "content": "capital?"}])
        assert answer.content == "Paris."
        assert walks == []

    def test_an_answer_not_stored_is_frozen_for_followers(self, walks: list[LLMResponse]) -> None:
        """Nothing stored (an empty answer): the followers' copy is frozen from the answer."""
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy, mock=MockProvider("")) as client:
            client.chat("mock", [{"role": "user", "content": "capital?"}])
        assert len(walks) == 1

    def test_a_follower_gets_the_stored_entrys_frozen_parts(self, walks: list[LLMResponse]) -> None:
        """Marked as a single-flight hit, costing nothing, sharing the entry's frozen raw."""
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        arrived, release = threading.Event(), threading.Event()

        def handler(request: httpx.Request) -> httpx.Response:
            arrived.set()
            release.wait(5)
            return httpx.Response(200, json=openai_completion("Paris."))

        messages = [{"role": "user", "content": "capital?"}]
        options: dict[str, Any] = {"api_key": "k" * 20, "model": "gpt-4o-mini"}
        answers: dict[str, LLMResponse] = {}
        with Client(cache_strategy=strategy, transport=httpx.MockTransport(handler)) as client:
            leader = threading.Thread(
                target=lambda: answers.setdefault(
                    "leader", client.chat("openai", messages, **options)
                )
            )
            leader.start()
            assert arrived.wait(5)
            follower = threading.Thread(
                target=lambda: answers.setdefault(
                    "follower", client.chat("openai", messages, **options)
                )
            )
            follower.start()
            deadline = time.monotonic() + 5
            while strategy.waiting() == 0 and time.monotonic() < deadline:
                time.sleep(0.001)
            release.set()
            leader.join(5)
            follower.join(5)
        followed = answers["follower"]
        assert followed.content == "Paris."
        assert followed.metadata["single_flight"] is True
        assert followed.metadata["from_cache"] is True
        assert followed.cost in (None, 0.0)
        assert followed.raw == answers["leader"].raw
        stored = strategy.store.get(followed.metadata["cache_key"])
        assert stored is not None
        assert followed.raw is stored.response.raw  # the entry's frozen copy, not a new walk
        assert walks == []
