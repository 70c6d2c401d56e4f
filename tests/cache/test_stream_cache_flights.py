"""Single-flight for streams: concurrent identical streams make one provider call.

The leader passes the provider's chunks on as they arrive; its followers
(streams or chat() calls) get the stored answer when the leader's stream
completes. The tests hold the leader mid-stream by not reading it, so every
follower is known to wait on it before it is let go.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exllm_py import Client, assemble
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ProviderError
from exllm_py.types import LLMResponse, StreamChunk
from tests.cache.flight_parties import eventually
from tests.fakes.held_reply import HeldReply
from tests.fakes.payloads import SSEEvent, openai_error, openai_stream_events
from tests.fakes.provider_server import ProviderServer, sse_reply

USER = [{"role": "user", "content": "Name a city on the Loire."}]
ANSWER = "Nantes lies on the Loire."


@pytest.fixture
def strategy() -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(cleanup_interval=None))


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer(text=ANSWER) as server:
        yield server


@pytest.fixture
def client(strategy: ProductionStrategy, server: ProviderServer) -> Iterator[Client]:
    with Client(cache_strategy=strategy) as client:
        yield client


def options(server: ProviderServer) -> dict[str, Any]:
    return {"base_url": server.url, "api_key": "k"}


def text(chunks: list[StreamChunk]) -> str:
    return "".join(chunk.content for chunk in chunks)


def in_threads(count: int, call: Callable[[], object]) -> tuple[list[threading.Thread], list[Any]]:
    """Start ``count`` threads making ``call``; each outcome (answer or error) lands in the list."""
    outcomes: list[Any] = []

    def run() -> None:
        try:
            outcomes.append(call())
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def joined(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "a thread is still waiting after 10 s"


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for ``condition``, polling (bounded): the followers wait in the loop's other tasks."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


class TestThreads:
    """Threads streaming what a half-read stream is fetching wait for it and make no call."""

    def test_followers_get_the_leaders_answer_once_it_completes(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        leader = client.stream("openai", USER, **options(server))
        first = next(leader)
        threads, outcomes = in_threads(
            4, lambda: list(client.stream("openai", USER, **options(server)))
        )
        eventually(lambda: strategy.waiting() == 4)
        assert outcomes == []  # nothing reaches a follower before the leader's stream ends
        led = [first, *leader]
        joined(threads)
        assert len(server.requests) == 1
        assert text(led) == ANSWER
        for chunks in outcomes:
            assert text(chunks) == ANSWER
            assert all(chunk.metadata["from_cache"] for chunk in chunks)
            assert all(chunk.metadata["single_flight"] for chunk in chunks)
        assert strategy.stats().hits == 4

    def test_a_chat_follows_a_streaming_leader(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        leader = client.stream("openai", USER, **options(server))
        first = next(leader)
        threads, outcomes = in_threads(1, lambda: client.chat("openai", USER, **options(server)))
        eventually(lambda: strategy.waiting() == 1)
        led = assemble([first, *leader])
        joined(threads)
        answer: LLMResponse = outcomes[0]
        assert len(server.requests) == 1
        assert answer.content == led.content
        assert answer.metadata["single_flight"] is True

    def test_a_leader_closed_half_read_hands_the_call_to_a_follower(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        leader = client.stream("openai", USER, **options(server))
        next(leader)
        threads, outcomes = in_threads(
            3, lambda: list(client.stream("openai", USER, **options(server)))
        )
        eventually(lambda: strategy.waiting() == 3)
        leader.close()  # type: ignore[attr-defined]
        joined(threads)
        # One follower led the next flight and called; the others followed it.
        assert len(server.requests) == 2
        assert [text(chunks) for chunks in outcomes] == [ANSWER] * 3
        assert strategy.stats().entries == 1

    def test_a_leader_that_fails_midway_fails_its_followers(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        events = openai_stream_events(ANSWER)
        server.enqueue(sse_reply([*events[:3], SSEEvent(openai_error("overloaded"))]))
        leader = client.stream("openai", USER, **options(server))
        first = next(leader)
        threads, outcomes = in_threads(
            2, lambda: list(client.stream("openai", USER, **options(server)))
        )
        eventually(lambda: strategy.waiting() == 2)
        with pytest.raises(ProviderError, match="overloaded"):
            [first, *leader]  # noqa: B018 - read to the error
        joined(threads)
        assert len(server.requests) == 1
        assert all(isinstance(outcome, ProviderError) for outcome in outcomes)
        assert strategy.stats().entries == 0

    def test_a_second_stream_on_the_leaders_thread_calls_for_itself(
        self, client: Client, server: ProviderServer
    ) -> None:
        # Waiting here would wait for a stream this very thread has to read.
        leader = client.stream("openai", USER, **options(server))
        first = next(leader)
        second = list(client.stream("openai", USER, **options(server)))
        assert text(second) == ANSWER
        assert text([first, *leader]) == ANSWER
        assert len(server.requests) == 2


class TestTasks:
    """Tasks streaming the same request share one provider call."""

    async def test_followers_get_the_leaders_answer(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        async def follow() -> list[StreamChunk]:
            stream = client.astream("openai", USER, **options(server))
            return [chunk async for chunk in stream]

        leader = client.astream("openai", USER, **options(server))
        first = await anext(leader)
        followers = [asyncio.ensure_future(follow()) for _ in range(20)]
        await until(lambda: strategy.waiting() == 20)
        led = [first, *[chunk async for chunk in leader]]
        outcomes = await asyncio.gather(*followers)
        assert len(server.requests) == 1
        assert text(led) == ANSWER
        assert all(text(chunks) == ANSWER for chunks in outcomes)
        assert all(chunks[0].metadata["single_flight"] for chunks in outcomes)

    async def test_concurrent_starts_make_one_call(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        held = HeldReply(sse_reply(openai_stream_events(ANSWER)))
        server.enqueue(held)

        async def stream() -> str:
            chunks = client.astream("openai", USER, **options(server))
            return "".join([chunk.content async for chunk in chunks])

        tasks = [asyncio.ensure_future(stream())]
        try:
            assert await asyncio.to_thread(held.arrived.wait, 5), "the leader never called"
            tasks += [asyncio.ensure_future(stream()) for _ in range(9)]
            await until(lambda: strategy.waiting() == 9)
        finally:
            held.release.set()
        assert await asyncio.gather(*tasks) == [ANSWER] * 10
        assert len(server.requests) == 1

    async def test_a_second_stream_in_the_leaders_task_calls_for_itself(
        self, client: Client, server: ProviderServer
    ) -> None:
        leader = client.astream("openai", USER, **options(server))
        first = await anext(leader)
        # In this task itself (not wait_for's): a wait would never end; a short
        # timeout makes a regression fail fast instead of hanging.
        second = client.astream("openai", USER, timeout=5, **options(server))
        chunks = [chunk async for chunk in second]
        assert text(chunks) == ANSWER
        assert text([first, *[chunk async for chunk in leader]]) == ANSWER
        assert len(server.requests) == 2
