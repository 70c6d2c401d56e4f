"""Retries and the caches: below the response cache, inside single-flight, recorded in order.

A retried miss is one miss and one put; single-flight followers wait for
the leader's retries instead of making their own; the test cache records
every attempt and replays them in order, without waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exllm_py import Client, LLMResponse
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import RateLimitError, ServerError
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.strategy import TestStrategy, use_cassette
from tests.cache.flight_parties import eventually
from tests.fakes.held_reply import HeldReply
from tests.fakes.payloads import openai_error
from tests.fakes.provider_server import DEFAULT_TEXT, ProviderServer, json_reply
from tests.pipeline.retry_parts import NotedSleeps, RetryTap, backoff

USER = [{"role": "user", "content": "Which planet is largest?"}]
FOLLOWERS = 3


@pytest.fixture
def strategy() -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(cleanup_interval=None))


def failing(status: int, **headers: str) -> Any:
    return json_reply(openai_error(f"failed with {status}"), status=status, headers=headers)


def ask(client: Client, server: ProviderServer, **options: Any) -> LLMResponse:
    return client.chat("openai", USER, base_url=server.url, api_key="k", **options)


class TestResponseCache:
    """A miss that needed retries is still one miss and one put; the next call is a hit."""

    def test_one_miss_one_put(
        self, strategy: ProductionStrategy, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        server.enqueue(failing(503), failing(429))
        with Client(cache_strategy=strategy, retry_policy=sleeps.policy()) as client:
            first = ask(client, server)
            again = ask(client, server)
        assert first.content == again.content == DEFAULT_TEXT
        assert again.metadata["from_cache"] is True
        assert len(server.requests) == 3
        stats = strategy.stats()
        assert (stats.misses, stats.puts, stats.hits) == (1, 1, 1)

    def test_max_retries_stays_out_of_the_key(
        self, strategy: ProductionStrategy, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        with Client(cache_strategy=strategy, retry_policy=sleeps.policy()) as client:
            ask(client, server, max_retries=5)
            again = ask(client, server, max_retries=0)
        assert again.metadata["from_cache"] is True
        assert len(server.requests) == 1
        keys = {
            cache_key("openai", USER, {"base_url": server.url, "max_retries": n}) for n in (0, 5)
        }
        assert keys == {again.metadata["cache_key"]}

    def test_a_call_that_fails_after_its_retries_stores_nothing(
        self, strategy: ProductionStrategy, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        server.enqueue(*(failing(500) for _ in range(3)))
        with Client(cache_strategy=strategy, retry_policy=sleeps.policy()) as client:
            with pytest.raises(ServerError):
                ask(client, server)
            assert ask(client, server).content == DEFAULT_TEXT  # the next call asks again
        assert len(server.requests) == 4
        assert strategy.stats().puts == 1


def together(
    strategy: ProductionStrategy, held: HeldReply, call: Callable[[], LLMResponse]
) -> list[object]:
    """A leader held at the server with its first attempt, followers waiting on it; outcomes."""
    outcomes: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            outcome: object = call()
        except Exception as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(FOLLOWERS + 1)]
    try:
        threads[0].start()
        assert held.arrived.wait(5), "the leader's request never reached the server"
        for thread in threads[1:]:
            thread.start()
        eventually(lambda: strategy.waiting() == FOLLOWERS)
    finally:
        held.release.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "a caller is still waiting after 10 s"
    return outcomes


class TestSingleFlight:
    """Followers wait for the leader's retries and share its outcome; they never retry."""

    def test_followers_get_the_answer_the_leader_retried_to(
        self,
        strategy: ProductionStrategy,
        server: ProviderServer,
        sleeps: NotedSleeps,
        tap: RetryTap,
    ) -> None:
        held = HeldReply(failing(503))
        server.enqueue(held)
        with Client(cache_strategy=strategy, retry_policy=sleeps.policy()) as client:
            outcomes = together(strategy, held, lambda: ask(client, server))
        assert [getattr(outcome, "content", outcome) for outcome in outcomes] == [DEFAULT_TEXT] * (
            FOLLOWERS + 1
        )
        assert len(server.requests) == 2
        assert tap.attempts == [1]  # the leader's one retry, nobody else's
        assert (strategy.stats().misses, strategy.stats().puts) == (1, 1)

    def test_followers_get_the_error_the_leader_gave_up_on(
        self,
        strategy: ProductionStrategy,
        server: ProviderServer,
        sleeps: NotedSleeps,
        tap: RetryTap,
    ) -> None:
        held = HeldReply(failing(503))
        server.enqueue(held, failing(502), failing(500))
        with Client(cache_strategy=strategy, retry_policy=sleeps.policy()) as client:
            outcomes = together(strategy, held, lambda: ask(client, server))
        assert all(isinstance(outcome, ServerError) for outcome in outcomes), outcomes
        assert {outcome.status for outcome in outcomes} == {500}  # type: ignore[attr-defined]
        assert len(server.requests) == 3
        assert tap.attempts == [1, 2]
        assert sleeps.delays == [backoff(1), backoff(2)]


class TestRecordAndReplay:
    """Recording keeps every attempt in order; a replay plays them back without waiting."""

    @pytest.fixture
    def cassette(self, tmp_path: Path) -> Path:
        return tmp_path / "retried.json"

    def test_each_attempt_is_recorded_and_replayed_in_order(
        self, server: ProviderServer, sleeps: NotedSleeps, tap: RetryTap, cassette: Path
    ) -> None:
        server.enqueue(failing(429, **{"retry-after": "5"}))
        with (
            Client(cache_strategy=TestStrategy(), retry_policy=sleeps.policy()) as client,
            use_cassette(cassette, mode="once"),
        ):
            live = ask(client, server)
        assert sleeps.delays == [5.0]
        statuses = [item.response.status for item in read_cassette(cassette).interactions]
        assert statuses == [429, 200]

        with (
            Client(cache_strategy=TestStrategy(), retry_policy=sleeps.policy()) as client,
            use_cassette(cassette, mode="none") as replaying,
        ):
            replayed = ask(client, server)
        assert replayed.content == live.content
        assert replayed.metadata["from_cache"] is True
        assert [item.response.status for item in replaying.played] == [429, 200]
        assert len(server.requests) == 2  # the replay reached no server
        assert sleeps.delays == [5.0]  # and waited for nothing
        assert [metadata["replayed"] for _, metadata in tap.events] == [False, True]

    def test_a_recorded_failure_replays_a_bounded_number_of_times(
        self, server: ProviderServer, sleeps: NotedSleeps, cassette: Path
    ) -> None:
        server.enqueue(failing(429, **{"retry-after": "30"}))
        with (
            Client(cache_strategy=TestStrategy(), retry_policy=sleeps.policy()) as client,
            use_cassette(cassette, mode="once"),
            pytest.raises(RateLimitError),
        ):
            ask(client, server, max_retries=0)

        with (
            Client(cache_strategy=TestStrategy(), retry_policy=sleeps.policy()) as client,
            use_cassette(cassette, mode="none") as replaying,
            pytest.raises(RateLimitError) as raised,
        ):
            ask(client, server, max_retries=2)
        assert raised.value.retry_after == 30.0
        # The one recording, replayed once per attempt (the last recording repeats).
        assert [item.response.status for item in replaying.played] == [429, 429, 429]
        assert len(server.requests) == 1
        assert sleeps.delays == []
