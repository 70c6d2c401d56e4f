"""The disk cache: DiskStore against diskcache, and its chat() hit against the memory floor.

Both stores get the same entry (a ~3 KB answer, as ``make_entry`` builds it)
in one run, interleaved, best of five rounds: ``DiskStore`` stores its JSON,
``diskcache.Cache`` (default settings) pickles the entry object. A get is a
hit that returns the entry; a set replaces one key's entry. The chat() floor
is a hit served by a ``MemoryStore`` (what bench/hit_path.py times).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable

import diskcache
import structlog

import exllm_py
from bench.measure import Row, median_ns, row
from exllm_py.cache.entry import make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.types import LLMResponse

__all__ = ["main"]

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant for a travel booking site."},
    {"role": "user", "content": "Compare the train and the flight from Paris to Berlin."},
]
_TEXT = "The direct train takes about eight hours; the flight takes under two. " * 20


def main() -> list[Row]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    exllm_py.telemetry.refresh_logging()
    print("\nDisk cache (DiskStore vs diskcache)")
    with tempfile.TemporaryDirectory(prefix="exllm-bench-disk-") as directory:
        return [*_against_diskcache(directory), _chat_hit(directory)]


def _best(first: Callable[[], object], second: Callable[[], object], batch: int) -> list[float]:
    rounds = [
        (median_ns(first, batch=batch, batches=9), median_ns(second, batch=batch, batches=9))
        for _ in range(5)
    ]
    return [min(times) for times in zip(*rounds, strict=True)]


def _against_diskcache(directory: str) -> list[Row]:
    body = {"choices": [{"message": {"role": "assistant", "content": _TEXT}}], "id": "x"}
    entry = make_entry(LLMResponse(_TEXT, "gpt-4o-mini", "openai", raw=body), "k", time.time(), 900)
    store = DiskStore(f"{directory}/store")
    other = diskcache.Cache(f"{directory}/diskcache")
    store.set("k", entry)
    other.set("k", entry)
    assert store.get("k") is not None
    assert other.get("k") is not None
    ours, theirs = _best(lambda: store.get("k"), lambda: other.get("k"), batch=500)
    set_ours, set_theirs = _best(
        lambda: store.set("k", entry), lambda: other.set("k", entry), batch=100
    )
    store.close()
    other.close()
    return [
        row(
            f"get hit ({entry.size / 1024:.1f} KB entry): DiskStore vs diskcache",
            f"{ours / 1000:.1f} vs {theirs / 1000:.1f} µs = {ours / theirs:.2f}x",
            "≤ 1.0x",
            ours <= theirs,
        ),
        row(
            "set (replace): DiskStore vs diskcache",
            f"{set_ours / 1000:.1f} vs {set_theirs / 1000:.1f} µs = {set_ours / set_theirs:.2f}x",
            "≤ 1.5x",
            set_ours <= 1.5 * set_theirs,
        ),
    ]


def _client(store: object) -> Callable[[], object]:
    client = exllm_py.Client(cache_strategy=ProductionStrategy(store))  # type: ignore[arg-type]
    client.chat("mock", MESSAGES)  # the one miss
    assert client.chat("mock", MESSAGES).metadata["from_cache"]
    return lambda: client.chat("mock", MESSAGES)


def _chat_hit(directory: str) -> Row:
    disk_store = DiskStore(f"{directory}/chat")
    disk = _client(disk_store)
    memory = _client(MemoryStore(cleanup_interval=None))
    hit, floor = _best(disk, memory, batch=500)
    disk_store.close()
    return row(
        "chat() hit from DiskStore vs MemoryStore",
        f"{hit / 1000:.1f} µs = {hit / floor:.2f}x",
        "≤ 4x",
        hit <= 4 * floor,
    )


if __name__ == "__main__":
    main()
