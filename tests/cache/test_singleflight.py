"""Single-flight: concurrent identical calls make one provider call."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from exllm_py import Client, LLMResponse, MockProvider
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.singleflight import Flights
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ServerError, TimeoutError
from tests.fakes.payloads import openai_error
from tests.fakes.provider_server import ProviderServer, json_reply

USER = [{"role": "user", "content": "Summarise the news"}]


@pytest.fixture
def strategy() -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(cleanup_interval=None))


@pytest.fixture
def slow_mock() -> MockProvider:
    return MockProvider("All quiet.", latency=0.3)


@pytest.fixture
def client(strategy: ProductionStrategy, slow_mock: MockProvider) -> Iterator[Client]:
    with Client(cache_strategy=strategy, mock=slow_mock) as client:
        yield client


def run_in_threads(count: int, target: Callable[[], object]) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), "a thread is still waiting after 10 s"


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for ``condition``, polling: what the test waits on happens in another thread."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


class TestThreads:
    """Threads asking the same question at once share one answer."""

    def test_one_provider_call_for_concurrent_threads(
        self, client: Client, slow_mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        answers: list[LLMResponse] = []
        run_in_threads(8, lambda: answers.append(client.chat("mock", USER)))
        assert slow_mock.calls == 1
        assert len(answers) == 8
        assert {answer.content for answer in answers} == {"All quiet."}
        assert sum(not answer.metadata["from_cache"] for answer in answers) == 1
        assert strategy.in_flight() == 0

    def test_different_questions_do_not_wait_for_each_other(
        self, client: Client, slow_mock: MockProvider
    ) -> None:
        questions = iter(range(4))
        lock = threading.Lock()

        def ask() -> None:
            with lock:
                number = next(questions)
            client.chat("mock", [{"role": "user", "content": f"question {number}"}])

        run_in_threads(4, ask)
        assert slow_mock.calls == 4


class TestAsyncio:
    """Tasks asking the same question at once share one answer."""

    async def test_one_provider_call_for_a_hundred_tasks(
        self, client: Client, slow_mock: MockProvider
    ) -> None:
        answers = await asyncio.gather(*(client.achat("mock", USER) for _ in range(100)))
        assert slow_mock.calls == 1
        assert {answer.content for answer in answers} == {"All quiet."}
        followers = [answer for answer in answers if answer.metadata["from_cache"]]
        assert len(followers) == 99
        assert all(answer.cost in (0.0, None) for answer in followers)

    async def test_threads_and_tasks_share_one_flight(
        self, client: Client, slow_mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        thread = threading.Thread(target=lambda: client.chat("mock", USER))
        thread.start()
        await until(lambda: strategy.in_flight() == 1)  # the thread leads
        answers = await asyncio.gather(*(client.achat("mock", USER) for _ in range(5)))
        thread.join()
        assert slow_mock.calls == 1
        assert all(answer.metadata["from_cache"] for answer in answers)

    async def test_a_cancelled_leader_does_not_cancel_its_followers(
        self, client: Client, slow_mock: MockProvider, strategy: ProductionStrategy
    ) -> None:
        leader = asyncio.create_task(client.achat("mock", USER))
        await until(lambda: strategy.in_flight() == 1)
        follower = asyncio.create_task(client.achat("mock", USER))
        await asyncio.sleep(0.05)  # the follower joins the flight (or, if late, leads)
        leader.cancel()
        answer = await follower
        assert leader.cancelled()
        assert answer.content == "All quiet."
        assert strategy.in_flight() == 0


class TestFailures:
    """A failed call wakes every waiter with the error and caches nothing."""

    async def test_every_waiter_gets_the_error(self, strategy: ProductionStrategy) -> None:
        with ProviderServer() as server:
            server.enqueue(json_reply(openai_error("boom"), status=503, latency=0.3))
            async with Client(cache_strategy=strategy) as client:
                results = await asyncio.gather(
                    *(
                        client.achat("openai", USER, base_url=server.url, api_key="k")
                        for _ in range(5)
                    ),
                    return_exceptions=True,
                )
            assert len(server.requests) == 1
        assert all(isinstance(result, ServerError) for result in results)
        assert strategy.stats().entries == 0
        assert strategy.in_flight() == 0

    def test_thread_waiters_get_the_error(self, strategy: ProductionStrategy) -> None:
        errors: list[BaseException] = []

        def ask(client: Client, url: str) -> None:
            try:
                client.chat("openai", USER, base_url=url, api_key="k")
            except ServerError as exc:
                errors.append(exc)

        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(json_reply(openai_error("boom"), status=500, latency=0.3))
            run_in_threads(4, lambda: ask(client, server.url))
            assert len(server.requests) == 1
        assert len(errors) == 4


class TestErrorsPerFollower:
    """Each follower raises its own copy of the leader's error."""

    def test_followers_do_not_share_one_exception_object(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k")
        cause = ValueError("socket closed")
        error = ServerError("boom", status=500, provider="openai")
        error.__cause__ = cause
        flights.fail(flight, error)
        raised = []
        for _ in range(2):
            with pytest.raises(ServerError) as caught:
                flight.wait(0.01)
            raised.append(caught.value)
        assert raised[0] is not raised[1]
        assert raised[0].status == 500
        assert raised[0].__cause__ is cause


class TestBoundedWait:
    """A follower waits at most its timeout."""

    def test_a_follower_gives_up_after_its_timeout(self) -> None:
        flights: Flights[str] = Flights()
        flight, leader = flights.join("k")
        assert leader
        follower, leads = flights.join("k")
        assert follower is flight
        assert not leads
        with pytest.raises(TimeoutError, match=r"waited 0.05s for an identical call"):
            follower.wait(0.05)

    async def test_an_async_follower_gives_up_after_its_timeout(self) -> None:
        flights: Flights[str] = Flights()
        flights.join("k")
        follower, _ = flights.join("k")
        with pytest.raises(TimeoutError):
            await follower.await_(0.05)

    async def test_a_follower_that_arrives_late_gets_the_outcome(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k")
        flights.resolve(flight, "done")
        assert await flight.await_(0.01) == "done"
        assert flight.wait(0.01) == "done"
