"""Single-flight: concurrent identical calls make one provider call."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from exllm_py import Client, LLMResponse, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.singleflight import (
    CannotWait,
    Flight,
    Flights,
    LeaderGone,
    _forget_flights_after_fork,
    time_left,
)
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from tests.cache.flight_parties import Asker, eventually, outcome_of
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.clocks import FakeClock
from tests.fakes.held_reply import HeldReply
from tests.fakes.payloads import openai_completion, openai_error
from tests.fakes.provider_server import DEFAULT_TEXT, ProviderServer, json_reply

USER = [{"role": "user", "content": "Summarise the news"}]


@pytest.fixture
def strategy() -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(cleanup_interval=None))


def lead_in_another_thread(flights: Flights[str], key: str) -> tuple[Flight[str], bool]:
    """Join ``key`` as its leader from a thread of its own, as a real leader computes."""
    joined: list[tuple[Flight[str], bool]] = []
    thread = threading.Thread(target=lambda: joined.append(flights.join(key)))
    thread.start()
    thread.join()
    return joined[0]


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for ``condition``, polling: what the test waits on happens in another thread."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def asked_together(
    count: int, call: Callable[[], object], held: HeldReply, strategy: ProductionStrategy
) -> list[object]:
    """``count`` threads make ``call``; the first is held at the server until the rest wait on it.

    Each outcome is an answer or an error. Nothing is released before every
    follower waits for the leader, so the test cannot pass by the followers
    arriving late (and finding the answer stored) rather than sharing the flight.
    """
    leader, led = outcome_of(call)
    followers: list[tuple[threading.Thread, list[object]]] = []
    try:
        assert held.arrived.wait(5), "the leader's request never reached the server"
        followers = [outcome_of(call) for _ in range(count - 1)]
        eventually(lambda: strategy.waiting() == count - 1)
    finally:
        held.release.set()
    for thread, _ in [(leader, led), *followers]:
        thread.join(10)
        assert not thread.is_alive(), "a thread is still waiting after 10 s"
    return [led[0], *(outcome[0] for _, outcome in followers)]


async def asked_together_async(
    count: int,
    call: Callable[[], Awaitable[LLMResponse]],
    held: HeldReply,
    strategy: ProductionStrategy,
) -> list[object]:
    """``asked_together`` for tasks: the first is held until the other ``count - 1`` wait on it."""
    tasks = [asyncio.ensure_future(call())]
    try:
        assert await asyncio.to_thread(held.arrived.wait, 5), "the leader's request never came"
        tasks += [asyncio.ensure_future(call()) for _ in range(count - 1)]
        await until(lambda: strategy.waiting() == count - 1)
    except BaseException:
        held.release.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        held.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


QUIET = json_reply(openai_completion("All quiet."))


class TestThreads:
    """Threads asking the same question at once share one answer."""

    def test_one_provider_call_for_concurrent_threads(self, strategy: ProductionStrategy) -> None:
        held = HeldReply(QUIET)
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            answers = asked_together(8, lambda: ask_openai(client, server), held, strategy)
            assert len(server.requests) == 1
        assert all(isinstance(answer, LLMResponse) for answer in answers), answers
        responses = [answer for answer in answers if isinstance(answer, LLMResponse)]
        assert {answer.content for answer in responses} == {"All quiet."}
        assert [answer.metadata["from_cache"] for answer in responses] == [False] + [True] * 7
        assert strategy.in_flight() == 0

    def test_followers_are_hits_reported_and_timed_by_the_store(self) -> None:
        """Each follower counts as a hit, emits its hit event, and says when it was served."""
        clock = FakeClock()
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None, clock=clock))
        hits: list[tuple[dict[str, Any], dict[str, Any]]] = []
        telemetry.attach(
            "test-follower-hits",
            [telemetry.CACHE_HIT],
            lambda _event, measurements, metadata: hits.append((measurements, metadata)),
        )
        held = HeldReply(QUIET)
        try:
            with ProviderServer() as server, Client(cache_strategy=strategy) as client:
                server.enqueue(held)
                answers = asked_together(3, lambda: ask_openai(client, server), held, strategy)
        finally:
            telemetry.detach("test-follower-hits")
        followers = [answer for answer in answers[1:] if isinstance(answer, LLMResponse)]
        assert len(followers) == 2
        assert [answer.metadata["cached_at"] for answer in followers] == [clock(), clock()]
        stats = strategy.stats()
        assert (stats.hits, stats.misses) == (2, 1)
        assert len(hits) == 2
        key = followers[0].metadata["cache_key"]
        for measurements, metadata in hits:
            assert measurements["duration_ns"] > 0
            assert (metadata["key"], metadata["provider"]) == (key, "openai")

    def test_different_questions_do_not_wait_for_each_other(
        self, strategy: ProductionStrategy
    ) -> None:
        """Four different questions are all at the provider at once: none waits for another."""
        held = [HeldReply() for _ in range(4)]
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            for reply in held:
                server.enqueue(reply)
            threads = [
                outcome_of(
                    lambda number=number: client.chat(
                        "openai",
                        [{"role": "user", "content": f"question {number}"}],
                        base_url=server.url,
                        api_key="sk-alice",
                    )
                )
                for number in range(4)
            ]
            try:
                for reply in held:
                    assert reply.arrived.wait(5), "a question waited for another"
            finally:
                for reply in held:
                    reply.release.set()
            for thread, _ in threads:
                thread.join(10)
            assert len(server.requests) == 4
        assert all(isinstance(outcome[0], LLMResponse) for _, outcome in threads)


class TestAsyncio:
    """Tasks asking the same question at once share one answer."""

    async def test_one_provider_call_for_a_hundred_tasks(
        self, strategy: ProductionStrategy
    ) -> None:
        held = HeldReply(QUIET)
        with ProviderServer() as server:
            server.enqueue(held)
            async with Client(cache_strategy=strategy) as client:
                options = {"base_url": server.url, "api_key": "sk-alice"}
                answers = await asked_together_async(
                    100, lambda: client.achat("openai", USER, **options), held, strategy
                )
            assert len(server.requests) == 1
        assert all(isinstance(answer, LLMResponse) for answer in answers), answers
        responses = [answer for answer in answers if isinstance(answer, LLMResponse)]
        assert {answer.content for answer in responses} == {"All quiet."}
        followers = [answer for answer in responses if answer.metadata["from_cache"]]
        assert len(followers) == 99
        assert all(answer.cost in (0.0, None) for answer in followers)

    async def test_threads_and_tasks_share_one_flight(self, strategy: ProductionStrategy) -> None:
        held = HeldReply(QUIET)
        with ProviderServer() as server:
            server.enqueue(held)
            async with Client(cache_strategy=strategy) as client:
                options = {"base_url": server.url, "api_key": "sk-alice"}
                thread, led = outcome_of(lambda: client.chat("openai", USER, **options))
                tasks: list[asyncio.Task[LLMResponse]] = []
                try:
                    assert await asyncio.to_thread(held.arrived.wait, 5)  # the thread leads
                    tasks = [
                        asyncio.create_task(client.achat("openai", USER, **options))
                        for _ in range(5)
                    ]
                    await until(lambda: strategy.waiting() == 5)
                finally:
                    held.release.set()
                answers = await asyncio.gather(*tasks)
                await asyncio.to_thread(thread.join, 10)
            assert len(server.requests) == 1
        assert isinstance(led[0], LLMResponse)
        assert led[0].metadata["from_cache"] is False
        assert all(answer.metadata["from_cache"] for answer in answers)

    async def test_a_cancelled_leader_does_not_cancel_its_followers(
        self, strategy: ProductionStrategy
    ) -> None:
        held = HeldReply(QUIET)
        with ProviderServer() as server:
            server.enqueue(held)
            async with Client(cache_strategy=strategy) as client:
                options = {"base_url": server.url, "api_key": "sk-alice"}
                leader = asyncio.create_task(client.achat("openai", USER, **options))
                try:
                    assert await asyncio.to_thread(held.arrived.wait, 5)
                    follower = asyncio.create_task(client.achat("openai", USER, **options))
                    await until(lambda: strategy.waiting() == 1)  # the follower waits on it
                    leader.cancel()
                    answer = await asyncio.wait_for(follower, 10)
                finally:
                    held.release.set()
                with pytest.raises(asyncio.CancelledError):
                    await leader
            # The follower joined again, led, and made the call the leader never finished.
            assert len(server.requests) == 2
        assert leader.cancelled()
        assert answer.content == DEFAULT_TEXT
        assert answer.metadata["from_cache"] is False
        assert strategy.in_flight() == 0


class TestFailures:
    """A failed call wakes every waiter with the error and caches nothing."""

    async def test_every_waiter_gets_the_error(self, strategy: ProductionStrategy) -> None:
        held = HeldReply(json_reply(openai_error("boom"), status=503))
        with ProviderServer() as server:
            server.enqueue(held)
            async with Client(cache_strategy=strategy, max_retries=0) as client:
                options = {"base_url": server.url, "api_key": "k"}
                results = await asked_together_async(
                    5, lambda: client.achat("openai", USER, **options), held, strategy
                )
            assert len(server.requests) == 1
        assert all(isinstance(result, ServerError) for result in results), results
        assert strategy.stats().entries == 0
        assert strategy.in_flight() == 0

    def test_thread_waiters_get_the_error(self, strategy: ProductionStrategy) -> None:
        held = HeldReply(json_reply(openai_error("boom"), status=500))
        with ProviderServer() as server, Client(cache_strategy=strategy, max_retries=0) as client:
            server.enqueue(held)
            results = asked_together(
                4, lambda: ask_openai(client, server, api_key="k"), held, strategy
            )
            assert len(server.requests) == 1
        assert all(isinstance(result, ServerError) for result in results), results
        assert strategy.stats().entries == 0


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
        flight, leader = lead_in_another_thread(flights, "k")
        assert leader
        follower, leads = flights.join("k")
        assert follower is flight
        assert not leads
        with pytest.raises(TimeoutError, match=r"waited 0.05s for an identical call"):
            follower.wait(0.05)

    async def test_an_async_follower_gives_up_after_its_timeout(self) -> None:
        flights: Flights[str] = Flights()
        lead_in_another_thread(flights, "k")
        follower, _ = flights.join("k")
        with pytest.raises(TimeoutError):
            await follower.await_(0.05)

    async def test_a_follower_that_arrives_late_gets_the_outcome(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k")
        flights.resolve(flight, "done")
        assert await flight.await_(0.01) == "done"
        assert flight.wait(0.01) == "done"

    def test_the_wait_counts_from_the_call_not_from_each_join(self) -> None:
        """A follower that joins again after its leader left waits only what is left of its time."""
        started = time.perf_counter_ns() - 2_000_000_000  # the call began 2 s ago
        assert time_left(30.0, started) == pytest.approx(28.0, abs=0.5)
        assert time_left(1.0, started) == 0.0
        assert time_left(None, started) is None


def ask_openai(client: Client, server: ProviderServer, **options: Any) -> LLMResponse:
    return client.chat("openai", USER, base_url=server.url, **{"api_key": "sk-alice", **options})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestForkedChild:
    """A child forked while a call is in flight does not wait for the parent's leader."""

    def test_the_child_makes_its_own_call(self, strategy: ProductionStrategy) -> None:
        held = HeldReply()
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            leader, _ = outcome_of(lambda: ask_openai(client, server))
            try:
                assert held.arrived.wait(5)
                assert strategy.in_flight() == 1
                read, write = os.pipe()
                with warnings.catch_warnings():
                    # Python 3.12+ warns about forking a threaded process: that is the point.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
                if pid == 0:  # the child: a worker of a pre-forking server
                    _report_in_child(write, strategy, server)
                os.close(write)
                with os.fdopen(read, "rb") as verdict:
                    assert verdict.read().decode() == f"answered: {DEFAULT_TEXT}"
                os.waitpid(pid, 0)
            finally:
                held.release.set()
                leader.join(10)
        assert len(server.requests) == 2


def _report_in_child(write: int, strategy: ProductionStrategy, server: ProviderServer) -> None:
    try:
        with Client(cache_strategy=strategy) as client:
            answer = ask_openai(client, server, timeout=5)
        os.write(write, f"answered: {answer.content}".encode())
    except BaseException as exc:
        os.write(write, repr(exc).encode())
    finally:
        os._exit(0)


class TestSyncInsideAsync:
    """A sync call inside a coroutine never waits for an async leader on its own loop."""

    async def test_it_makes_its_own_call(self, strategy: ProductionStrategy) -> None:
        held = HeldReply()
        with ProviderServer() as server:
            server.enqueue(held)
            async with Client(cache_strategy=strategy) as client:
                options = {"base_url": server.url, "api_key": "sk-alice"}
                leader = asyncio.create_task(client.achat("openai", USER, **options))
                assert await asyncio.to_thread(held.arrived.wait, 5)
                # The provider answers the leader now, but only this loop can read it.
                held.release.set()
                answer = client.chat("openai", USER, timeout=3, **options)
                assert answer.content == DEFAULT_TEXT
                assert answer.metadata["from_cache"] is False
                assert (await leader).content == DEFAULT_TEXT
            assert len(server.requests) == 2
        assert strategy.in_flight() == 0

    def test_a_follower_on_the_leaders_thread_is_told_at_once(self) -> None:
        """Waiting on the thread that runs the leader raises CannotWait instead of blocking."""
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k")
        with pytest.raises(CannotWait):
            flight.wait(30)


class TestCredentialErrors:
    """An error caused by credentials goes only to followers that sent the same credentials."""

    def test_a_follower_with_another_key_makes_its_own_call(
        self, strategy: ProductionStrategy
    ) -> None:
        held = HeldReply(json_reply(openai_error("Incorrect API key provided"), status=401))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            leader, led = outcome_of(lambda: ask_openai(client, server, api_key="sk-revoked"))
            try:
                assert held.arrived.wait(5)
                follower, followed = outcome_of(lambda: ask_openai(client, server))
                eventually(lambda: strategy.waiting() == 1)
            finally:
                held.release.set()
            leader.join(10)
            follower.join(10)
            assert [request.headers["authorization"] for request in server.requests] == [
                "Bearer sk-revoked",
                "Bearer sk-alice",
            ]
        assert isinstance(led[0], AuthenticationError)
        assert isinstance(followed[0], LLMResponse)
        assert followed[0].content == DEFAULT_TEXT

    def test_a_follower_with_the_same_key_shares_the_error(
        self, strategy: ProductionStrategy
    ) -> None:
        held = HeldReply(json_reply(openai_error("Incorrect API key provided"), status=401))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            leader, led = outcome_of(lambda: ask_openai(client, server, api_key="sk-revoked"))
            try:
                assert held.arrived.wait(5)
                follower, followed = outcome_of(
                    lambda: ask_openai(client, server, api_key="sk-revoked")
                )
                eventually(lambda: strategy.waiting() == 1)
            finally:
                held.release.set()
            leader.join(10)
            follower.join(10)
            assert len(server.requests) == 1
        assert isinstance(led[0], AuthenticationError)
        assert isinstance(followed[0], AuthenticationError)

    @pytest.mark.parametrize(
        "error",
        [
            AuthenticationError("revoked", status=401, provider="openai"),
            AuthenticationError("forbidden", status=403, provider="openai"),
            ProviderError("out of credit", status=402, provider="openrouter"),
            ProviderError("no access to this model", status=404, provider="openai"),
            RateLimitError("slow down", status=429, provider="openai"),
            ConfigurationError("no API key for openai: set OPENAI_API_KEY"),
        ],
        ids=lambda error: f"{type(error).__name__}-{getattr(error, 'status', None)}",
    )
    def test_every_error_tied_to_the_key_stays_with_its_key(self, error: Exception) -> None:
        """Another key joins again; the same key gets the error."""
        for follower, shared in [(Asker("sk-bob"), False), (Asker("sk-alice"), True)]:
            flights: Flights[str] = Flights()
            flight, _ = flights.join("k", Asker("sk-alice"))
            flights.fail(flight, error)
            with pytest.raises(type(error) if shared else LeaderGone):
                flight.wait(1, follower)

    def test_errors_about_the_request_are_shared_across_keys(self) -> None:
        """A server error is the provider's, whoever asked: every follower gets it."""
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k", Asker("sk-alice"))
        flights.fail(flight, ServerError("boom", status=503, provider="openai"))
        with pytest.raises(ServerError):
            flight.wait(1, Asker("sk-bob"))


class TestLeaderTimeout:
    """A follower's own timeout governs it, not its leader's."""

    def test_a_patient_follower_outlives_an_impatient_leader(
        self, strategy: ProductionStrategy
    ) -> None:
        held = HeldReply()
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            leader, led = outcome_of(lambda: ask_openai(client, server, timeout=1.0, max_retries=0))
            try:
                assert held.arrived.wait(5)
                follower, followed = outcome_of(lambda: ask_openai(client, server, timeout=30))
                eventually(lambda: strategy.waiting() == 1)
                leader.join(10)  # the leader times out; the follower takes over
                follower.join(10)
            finally:
                held.release.set()
            assert len(server.requests) == 2
        assert isinstance(led[0], TimeoutError)
        assert "within 1.0s" in str(led[0])
        assert isinstance(followed[0], LLMResponse)
        assert followed[0].content == DEFAULT_TEXT

    @pytest.mark.parametrize(
        ("leader", "follower", "shared"),
        [
            (0.5, 30.0, False),
            (0.5, None, False),
            (30.0, 0.5, True),
            (0.5, 0.5, True),
        ],
    )
    def test_a_leaders_timeout_is_shared_only_with_followers_as_impatient(
        self, leader: float, follower: float | None, shared: bool
    ) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k", Asker(timeout=leader))
        error = TimeoutError(f"openai did not answer within {leader}s", provider="openai")
        flights.fail(flight, error)
        with pytest.raises(TimeoutError if shared else LeaderGone):
            flight.wait(1, Asker(timeout=follower))


@attrs.frozen
class Anonymous:
    """A party to a flight that names no caller (a direct user of ``Flights``)."""

    timeout: float | None = 30.0
    caller: None = None


class TestErrorsOfNoCredential:
    """Errors of every kind reach followers whether or not the parties name a caller."""

    def test_an_error_of_no_status_is_shared_across_keys(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k", Asker("sk-alice"))
        flights.fail(flight, RuntimeError("the parser broke"))
        with pytest.raises(RuntimeError, match="the parser broke"):
            flight.wait(1, Asker("sk-bob"))

    def test_a_credential_error_is_shared_between_parties_of_no_caller(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k", Anonymous())
        flights.fail(flight, AuthenticationError("revoked", status=401, provider="openai"))
        with pytest.raises(AuthenticationError):
            flight.wait(1, Anonymous())

    def test_a_leader_of_no_party_shares_even_a_credential_error(self) -> None:
        """Nothing is known of whose key failed: every follower gets the error."""
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k")
        flights.fail(flight, AuthenticationError("revoked", status=401, provider="openai"))
        with pytest.raises(AuthenticationError):
            flight.wait(1, Asker("sk-bob"))

    def test_an_abandoned_flight_tells_followers_which_key_to_join_again(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("summary-key")
        flights.abandon(flight)
        with pytest.raises(LeaderGone) as raised:
            flight.wait(1)
        assert raised.value.args == ("summary-key",)
        assert len(flights) == 0
        assert flights.join("summary-key")[1] is True  # the next caller leads


class TestWaitedTooLongMessage:
    """A follower that gives up is told what it allowed, for which key, and what to do."""

    async def test_the_message_names_the_followers_timeout_and_the_key(self) -> None:
        flights: Flights[str] = Flights()
        lead_in_another_thread(flights, "0123456789abcdef")
        follower, _ = flights.join("0123456789abcdef")
        with pytest.raises(TimeoutError) as raised:
            await follower.await_(0.01, Asker(timeout=7.5))  # 0.01 s is what was left of 7.5
        assert str(raised.value) == (
            "waited 7.5s for an identical call in flight (cache key 0123456789ab…) without an "
            "answer; pass a larger timeout=... if the model needs longer"
        )

    def test_a_thread_follower_is_told_the_same(self) -> None:
        flights: Flights[str] = Flights()
        lead_in_another_thread(flights, "0123456789abcdef")
        follower, _ = flights.join("0123456789abcdef")
        with pytest.raises(TimeoutError, match=r"^waited 7.5s for .* \(cache key 0123456789ab…\)"):
            follower.wait(0.01, Asker(timeout=7.5))


class TestWaitingCount:
    """A follower counts as waiting while it waits, and no longer once it has an outcome."""

    def test_a_thread_follower_is_counted_until_it_is_answered(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k")  # this thread leads; the follower has its own
        answered: list[str] = []
        follower = threading.Thread(target=lambda: answered.append(flight.wait(5)))
        follower.start()
        eventually(lambda: flights.waiting() == 1)
        assert flight.followers == 1
        flights.resolve(flight, "done")
        follower.join(5)
        assert answered == ["done"]
        assert flight.followers == 0

    def test_a_thread_follower_that_gives_up_is_no_longer_counted(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = lead_in_another_thread(flights, "k")
        with pytest.raises(TimeoutError):
            flight.wait(0.01)
        assert flights.waiting() == 0
        assert flight.followers == 0

    async def test_a_task_follower_is_counted_until_it_is_answered(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = lead_in_another_thread(flights, "k")
        follower = asyncio.create_task(flight.await_(5))
        await until(lambda: flights.waiting() == 1)
        assert flight.followers == 1
        flights.resolve(flight, "done")
        assert await follower == "done"
        assert flight.followers == 0

    async def test_a_task_follower_that_gives_up_is_no_longer_counted(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = lead_in_another_thread(flights, "k")
        with pytest.raises(TimeoutError):
            await flight.await_(0.01)
        assert flights.waiting() == 0
        assert flight.followers == 0


class TestFollowerToldWhichKey:
    """What a follower is told instead of an answer names the key it waited for."""

    def test_cannot_wait_names_the_key_on_the_leaders_thread(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("summary-key")
        with pytest.raises(CannotWait) as raised:
            flight.wait(30)
        assert raised.value.args == ("summary-key",)

    async def test_cannot_wait_names_the_key_in_the_leading_task(self) -> None:
        """A task that leads a key and then waits for that key is told at once, not hung."""
        flights: Flights[str] = Flights()
        flight, _ = flights.join("summary-key")
        with pytest.raises(CannotWait) as raised:
            await flight.await_(30)
        assert raised.value.args == ("summary-key",)

    def test_a_leaders_own_error_tells_the_follower_to_join_that_key_again(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("summary-key", Asker("sk-alice"))
        flights.fail(flight, AuthenticationError("revoked", status=401, provider="openai"))
        with pytest.raises(LeaderGone) as raised:
            flight.wait(1, Asker("sk-bob"))
        assert raised.value.args == ("summary-key",)


class TestForgetAfterFork:
    """The hook run in a forked child empties every ``Flights``: no parent leader is waited for."""

    def test_the_hook_forgets_every_flight_in_progress(self) -> None:
        first: Flights[str] = Flights()
        second: Flights[str] = Flights()
        first.join("a")
        second.join("b")
        _forget_flights_after_fork()
        assert (len(first), len(second)) == (0, 0)
        assert first.join("a")[1] is True  # the child's next caller leads its own call


class TestFollowersMatch:
    """A follower's answer says it matched exactly only where the strategy matches by meaning."""

    @pytest.mark.parametrize("by_meaning", [False, True], ids=["exact-only", "semantic"])
    def test_a_follower_says_how_it_matched(self, by_meaning: bool) -> None:
        semantic = SemanticCache(WordsEmbedder(), threshold=0.8) if by_meaning else None
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)
        held = HeldReply(QUIET)
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            answers = asked_together(3, lambda: ask_openai(client, server), held, strategy)
        followers = [answer for answer in answers[1:] if isinstance(answer, LLMResponse)]
        assert len(followers) == 2, answers
        for follower in followers:
            assert follower.metadata["single_flight"] is True
            if by_meaning:
                assert follower.metadata["cache_match"] == "exact"
            else:
                assert "cache_match" not in follower.metadata
