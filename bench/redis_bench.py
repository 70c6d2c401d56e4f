"""The Redis cache: hit cost against its floor, the tiered L1 hit, Redis down, compression.

Floors, measured in the same run: a bare redis-py ``GET`` of the very value
a hit reads, plus the in-memory hit path (``chat()`` served by a
``MemoryStore``): what any Redis-backed response cache must at least spend.
Redis faults are measured against the provider call itself (the mock
provider with a fixed latency). It starts its own ``redis-server``.
"""

from __future__ import annotations

import logging
import random
import shutil
import socket
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
import structlog

import exllm_py
from bench.measure import Row, median_ns, row
from exllm_py.cache.entry import dump_entry, make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_codec import encode_value
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.providers.mock import MockProvider
from exllm_py.types import LLMResponse

__all__ = ["main"]

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant for a travel booking site."},
    {"role": "user", "content": "Compare the train and the flight from Paris to Berlin."},
]
PROVIDER_LATENCY = 0.02
TIMEOUT = 0.05
# Words in rough frequency order, for prose that compresses like real answers.
_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "on",
    "that",
    "with",
    "as",
    "it",
    "at",
    "by",
    "from",
    "this",
    "be",
    "are",
    "or",
    "an",
    "was",
    "which",
    "train",
    "flight",
    "ticket",
    "price",
    "morning",
    "evening",
    "station",
    "airport",
    "hours",
    "minutes",
    "direct",
    "change",
    "journey",
    "comfort",
    "luggage",
    "delay",
    "schedule",
    "booking",
    "fare",
    "class",
    "seat",
    "window",
    "city",
    "centre",
    "Berlin",
    "Paris",
    "Munich",
    "Cologne",
    "Frankfurt",
    "connection",
    "fastest",
    "cheapest",
    "option",
    "route",
    "travel",
]


def main() -> list[Row]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    exllm_py.telemetry.refresh_logging()
    print("\nRedis cache (RedisStore, TieredStore, faults)")
    if shutil.which("redis-server") is None:
        print("  skipped: redis-server is not installed")
        return []
    rows: list[Row] = []
    with _redis_server() as url:
        rows += _hit_ratio(url)
        rows.append(_tiered_ratio(url))
        rows += _compression(url)
        rows += _faults(url)
    return rows


# -- hits --------------------------------------------------------------------------------


def _client(store: Any, latency: float = 0.0) -> exllm_py.Client:
    return exllm_py.Client(
        cache_strategy=ProductionStrategy(store), mock=MockProvider(latency=latency)
    )


def _hit(client: exllm_py.Client) -> Callable[[], object]:
    client.chat("mock", MESSAGES)  # the one miss
    assert client.chat("mock", MESSAGES).metadata["from_cache"]
    return lambda: client.chat("mock", MESSAGES)


def _hit_ratio(url: str) -> list[Row]:
    store = RedisStore(url, namespace="bench", timeout=1.0)
    redis_hit = _hit(_client(store))
    memory_hit = _hit(_client(MemoryStore(cleanup_interval=None)))
    raw = redis.Redis.from_url(url)
    (name,) = raw.keys("bench:*")
    value = raw.get(name)

    def bare_get() -> object:
        return raw.get(name)

    def floor() -> object:
        # The two back to back, as a hit runs them: Python code that follows a
        # round trip runs slower than in a tight loop (caches went cold meanwhile).
        return bare_get(), memory_hit()

    gets, floors, hits = [], [], []
    for _ in range(5):  # interleaved, so drifting machine load hits all three alike
        gets.append(median_ns(bare_get, batch=300, batches=9))
        floors.append(median_ns(floor, batch=300, batches=9))
        hits.append(median_ns(redis_hit, batch=300, batches=9))
    get, memory, hit = min(gets), median_ns(memory_hit), min(hits)
    base = min(floors)
    store.close()
    raw.close()
    return [
        row(f"bare redis-py GET ({len(value or b'')} B value)", f"{get / 1000:.1f} µs", "-", True),
        row("chat() hit from MemoryStore", f"{memory / 1000:.1f} µs", "-", True),
        row("floor: that GET, then that memory hit", f"{base / 1000:.1f} µs", "-", True),
        row(
            "  (hit vs GET + memory hit timed apart)",
            f"{hit / (get + memory):.2f}x",
            "-",
            True,
        ),
        row(
            "chat() hit from RedisStore vs the floor",
            f"{hit / 1000:.1f} µs = {hit / base:.2f}x",
            "≤ 1.5x",
            hit <= 1.5 * base,
        ),
    ]


def _tiered_ratio(url: str) -> Row:
    l2 = RedisStore(url, namespace="bench-tiered", timeout=1.0)
    tiered_hit = _hit(_client(TieredStore(MemoryStore(cleanup_interval=None), l2)))
    memory_hit = _hit(_client(MemoryStore(cleanup_interval=None)))
    tiered, memory = [], []
    for _ in range(5):
        memory.append(median_ns(memory_hit, batch=1000, batches=9))
        tiered.append(median_ns(tiered_hit, batch=1000, batches=9))
    ratio = min(tiered) / min(memory)
    l2.close()
    return row(
        "chat() hit from TieredStore L1 vs MemoryStore",
        f"{min(tiered) / 1000:.1f} µs = {ratio:.2f}x",
        "≤ 1.2x",
        ratio <= 1.2,
    )


# -- compression ---------------------------------------------------------------------------


def _prose(words: int, seed: int) -> str:
    chooser = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(_WORDS))]  # roughly Zipf, like text
    return " ".join(chooser.choices(_WORDS, weights, k=words))


def _compression(url: str) -> list[Row]:
    rows = []
    packing = RedisStore(url, namespace="bench-z", timeout=1.0)
    plain = RedisStore(url, namespace="bench-plain", timeout=1.0, compress_threshold=None)
    for words in (300, 2000):
        text = _prose(words, seed=words)
        body = {"choices": [{"message": {"role": "assistant", "content": text}}], "id": "x"}
        entry = make_entry(
            LLMResponse(text, "gpt-4o-mini", "openai", raw=body), "k", time.time(), 900
        )
        payload = dump_entry(entry)
        packed = encode_value(payload, packing.compress_threshold)
        encode = median_ns(lambda payload=payload: zlib.compress(payload, 1), batch=200, batches=9)
        packing.set("k", entry)
        plain.set("k", entry)
        packed_reads, plain_reads = [], []
        for _ in range(5):
            packed_reads.append(median_ns(lambda: packing.get("k"), batch=200, batches=5))
            plain_reads.append(median_ns(lambda: plain.get("k"), batch=200, batches=5))
        read_cost = min(packed_reads) / min(plain_reads)
        share = len(packed) / len(payload)
        rows.append(
            row(
                f"entry of {len(payload) / 1024:.1f} KB, zlib level 1: stored size",
                f"{share:.0%} (write +{encode / 1000:.0f} µs)",
                "< 50%",
                share < 0.5,
            )
        )
        rows.append(
            row(
                "  RedisStore.get of it vs of the plain value",
                f"{min(packed_reads) / 1000:.0f} µs = {read_cost:.2f}x",
                "(informational: the cost of compression on reads)",
                True,
            )
        )
    packing.close()
    plain.close()
    return rows


# -- faults --------------------------------------------------------------------------------


def _faults(url: str) -> list[Row]:
    # Each failure is logged as a warning; the figures are the library's own cost.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    exllm_py.telemetry.refresh_logging()
    questions = iter(range(10**9))

    def misses(store: Any, latency: float) -> Callable[[], object]:
        # A new question each time: every call reads, calls the provider and writes.
        client = _client(store, latency)
        return lambda: client.chat("mock", [{"role": "user", "content": f"q{next(questions)}"}])

    def against_baseline(store: Any) -> tuple[float, float]:
        """(cost, the same miss through a healthy MemoryStore), interleaved, best of 5."""
        healthy = misses(MemoryStore(cleanup_interval=None), PROVIDER_LATENCY)
        faulty = misses(store, PROVIDER_LATENCY)
        rounds = [
            (median_ns(faulty, batch=6, batches=5), median_ns(healthy, batch=6, batches=5))
            for _ in range(5)
        ]
        return min(cost for cost, _ in rounds), min(base for _, base in rounds)

    rows = []
    with _black_hole() as silent_url:
        for label, target_url in (("refusing", _refusing_url()), ("not answering", silent_url)):
            closed = CircuitBreaker(failure_threshold=10**9)
            store = RedisStore(target_url, namespace="bench", timeout=TIMEOUT, breaker=closed)
            cost, provider = against_baseline(store)
            rows.append(
                row(
                    f"Redis {label}, breaker closed: 20 ms miss",
                    f"{cost / 1e6:.2f} ms (+{(cost - provider) / 1e6:.2f} ms)",
                    f"≤ healthy miss + {TIMEOUT * 1000:.0f} ms",
                    cost <= provider + TIMEOUT * 1e9,
                )
            )
            store.close()
        # Open: what a miss's read-compute-write cycle asks of the store, timed alone
        # (against a provider call, its few microseconds would drown in the noise).
        opened = CircuitBreaker(failure_threshold=1, cooldown=3600)
        store = RedisStore(silent_url, namespace="bench", timeout=TIMEOUT, breaker=opened)
        store.get("open the breaker")
        assert opened.state == "open"
        entry = make_entry(LLMResponse("answer", "m", "mock"), "k", time.time(), 900)

        def cycle() -> None:
            store.get("k")
            store.get("k")
            store.set("k", entry)

        cost = median_ns(cycle)
        store.close()
    rows.append(
        row(
            "Redis not answering, breaker open: get+get+set",
            f"{cost / 1000:.2f} µs per miss",
            "no added time (≤ 5 µs)",
            cost <= 5_000,
        )
    )
    return rows


def _refusing_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@contextmanager
def _black_hole() -> Iterator[str]:
    """A port that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@contextmanager
def _redis_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="exllm-bench-redis-") as directory:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_for_ping(url, process)
            yield url
        finally:
            process.kill()
            process.wait()


def _wait_for_ping(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    with redis.Redis.from_url(url, socket_timeout=1) as client:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.01)


if __name__ == "__main__":
    main()
