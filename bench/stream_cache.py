"""The production cache serving streams: first chunk, whole stream, single-flight.

- Time to first chunk of a stream served from the cache (``stream()`` called
  and its first chunk read), against a ``chat()`` hit of the same request:
  both find the entry the same way; the stream then turns it into chunks.
- The whole stream: reading every chunk of a stream object served from the
  cache, against reading a prebuilt list of the same chunks (both in the same
  loop, over 2,000 objects each). Finding the entry is the first figure's
  part: what this one measures is the delivery.
- 100 concurrent identical ``astream()`` calls against a 300 ms endpoint make
  one provider call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import structlog

import exllm_py
from bench.hit_path import MESSAGES, _environment
from bench.measure import Row, median_ns, row
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.demo.server import SimulatedOpenAI
from exllm_py.types import StreamChunk

__all__ = ["main"]

_ROUNDS = 5


def main() -> list[Row]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    exllm_py.telemetry.refresh_logging()
    print("\nProduction cache: streams (MemoryStore)")
    rows: list[Row] = []
    with (
        SimulatedOpenAI(latency=0.0) as server,
        _environment(OPENAI_API_KEY="bench-key", OPENAI_BASE_URL=server.url),
    ):
        exllm_py.configure(cache_strategy=ProductionStrategy(MemoryStore()))
        try:
            rows += _served_stream(server)
        finally:
            exllm_py.client.reset_default_client()
    with SimulatedOpenAI(latency=0.3) as slow:
        rows.append(_single_flight(slow))
    return rows


def _stream() -> StreamChunk:
    return next(_served())


def _served() -> Iterator[StreamChunk]:
    return exllm_py.stream("openai", MESSAGES, model="gpt-4o-mini", temperature=0)


def _chat() -> object:
    return exllm_py.chat("openai", MESSAGES, model="gpt-4o-mini", temperature=0)


def _served_stream(server: SimulatedOpenAI) -> list[Row]:
    live = list(exllm_py.stream("openai", MESSAGES, model="gpt-4o-mini", temperature=0))
    served = list(exllm_py.stream("openai", MESSAGES, model="gpt-4o-mini", temperature=0))
    assert server.calls == 1, "the second stream must come from the cache"
    assert all(chunk.metadata["from_cache"] for chunk in served)
    assert exllm_py.assemble(served).content == exllm_py.assemble(live).content

    firsts, hits, delivered, listed = [], [], [], []
    # Interleaved rounds, so drift in machine load hits every figure alike.
    for _ in range(_ROUNDS):
        hits.append(median_ns(_chat))
        firsts.append(median_ns(_stream))
        # Each list holds the chunks of a stream of its own: served chunks are
        # made per hit, so both sides read objects as freshly made.
        lists = [list(_served()) for _ in range(2000)]
        streams = [_served() for _ in range(2000)]
        delivered.append(_read_each(streams))
        listed.append(_read_each(lists))
    hit, first = min(hits), min(firsts)
    whole, prebuilt = min(delivered), min(listed)
    rows = [
        row("chat() hit (the reference)", f"{hit / 1000:.2f} µs", "-", True),
        row(
            "stream() from cache: first chunk",
            f"{first / 1000:.2f} µs = {first / hit:.2f}x",
            "≤ 3x chat() hit",
            first <= 3 * hit,
        ),
        row(
            f"  every chunk ({len(served)}) of a served stream",
            f"{whole:.0f} ns = {whole / prebuilt:.2f}x",
            "≤ 2x a prebuilt list",
            whole <= 2 * prebuilt,
        ),
    ]
    return rows + _async_first_chunk()


def _read_each(streams: list[object]) -> float:
    """Nanoseconds per stream to read every chunk of each of ``streams``."""
    started = time.perf_counter_ns()
    for stream in streams:
        for _chunk in stream:  # type: ignore[attr-defined]
            pass
    return (time.perf_counter_ns() - started) / len(streams)


def _async_first_chunk() -> list[Row]:
    async def first_chunk() -> StreamChunk:
        stream = exllm_py.astream("openai", MESSAGES, model="gpt-4o-mini", temperature=0)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            return await anext(stream)

    async def ahit() -> object:
        return await exllm_py.achat("openai", MESSAGES, model="gpt-4o-mini", temperature=0)

    async def per_call(call: Callable[[], object], count: int = 2000) -> float:
        started = time.perf_counter_ns()
        for _ in range(count):
            await call()  # type: ignore[misc]
        return (time.perf_counter_ns() - started) / count

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(first_chunk()).metadata["from_cache"]
        hits, firsts = [], []
        for _ in range(_ROUNDS):
            hits.append(loop.run_until_complete(per_call(ahit)))
            firsts.append(loop.run_until_complete(per_call(first_chunk)))
    finally:
        loop.close()
    hit, first = min(hits), min(firsts)
    return [
        row("achat() hit (the reference)", f"{hit / 1000:.2f} µs", "-", True),
        row(
            "astream() from cache: first chunk",
            f"{first / 1000:.2f} µs = {first / hit:.2f}x",
            "≤ 3x achat() hit",
            first <= 3 * hit,
        ),
    ]


def _single_flight(server: SimulatedOpenAI) -> Row:
    client = exllm_py.Client(cache_strategy=ProductionStrategy(MemoryStore()))
    question = [{"role": "user", "content": "one stream, a hundred readers"}]

    async def read_one() -> str:
        stream = client.astream("openai", question, base_url=server.url, api_key="k")
        return "".join([chunk.content async for chunk in stream])

    async def read_all() -> list[str]:
        return await asyncio.gather(*(read_one() for _ in range(100)))

    texts = asyncio.run(read_all())
    client.close()
    whole = len(set(texts)) == 1 and bool(texts[0])
    return row(
        "100 concurrent identical astream(), 300 ms endpoint",
        f"{server.calls} upstream call(s)",
        "exactly 1, every reader whole",
        server.calls == 1 and whole,
    )
