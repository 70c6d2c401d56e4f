"""A single-flight follower waits at most its own call's timeout, whatever its leader does.

Through the whole pipeline: a leader's request is held at a loopback
provider server (its reply waits on an event the test sets only at the
end), so the leader never finishes while the follower waits. The follower
must give up with ``TimeoutError`` after its own timeout, without calling
the provider itself. Every wait in the test is an event with a bound, so a
follower that waited for ever fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, LLMResponse
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import TimeoutError
from tests.fakes.payloads import openai_completion
from tests.fakes.provider_server import ProviderServer, RecordedRequest, Reply, json_reply

USER = [{"role": "user", "content": "Write a long essay."}]
FOLLOWER_TIMEOUT = 0.3
LEADER_TIMEOUT = 60.0
BOUND_S = 10.0  # how long the test waits for anything before calling it a hang


class HeldAtTheServer:
    """A responder that answers only once ``release`` is set; ``arrived`` says the request came."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        self.arrived.set()
        self.release.wait(BOUND_S)
        return json_reply(openai_completion("Finally."))


class Leader:
    """A call in a thread of its own that the server holds until released."""

    def __init__(self, client: Client, server: ProviderServer, held: HeldAtTheServer) -> None:
        self.held = held
        self.outcome: list[LLMResponse | BaseException] = []
        self.thread = threading.Thread(target=self._call, args=(client, server.url))

    def _call(self, client: Client, url: str) -> None:
        try:
            self.outcome.append(
                client.chat("openai", USER, base_url=url, api_key="k", timeout=LEADER_TIMEOUT)
            )
        except BaseException as exc:
            self.outcome.append(exc)

    def start(self) -> None:
        self.thread.start()
        assert self.held.arrived.wait(BOUND_S), "the leader's request never reached the server"

    def finish(self) -> LLMResponse:
        self.held.release.set()
        self.thread.join(BOUND_S)
        assert not self.thread.is_alive()
        (result,) = self.outcome
        assert isinstance(result, LLMResponse), result
        return result


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


@pytest.fixture
def held(server: ProviderServer) -> Iterator[HeldAtTheServer]:
    responder = HeldAtTheServer()
    server.enqueue(responder)
    yield responder
    responder.release.set()  # whatever happened, let the server's thread go


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=ProductionStrategy(MemoryStore(cleanup_interval=None))) as made:
        yield made


def _follow_in_thread(call: Any) -> tuple[threading.Thread, list[Any], list[float]]:
    outcome: list[Any] = []
    elapsed: list[float] = []

    def run() -> None:
        started = time.monotonic()
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)
        elapsed.append(time.monotonic() - started)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(BOUND_S)
    return thread, outcome, elapsed


class TestSyncFollower:
    """A thread following a leader that never finishes gets TimeoutError after its own timeout."""

    def test_the_per_call_timeout_bounds_the_wait(
        self, client: Client, server: ProviderServer, held: HeldAtTheServer
    ) -> None:
        leader = Leader(client, server, held)
        leader.start()
        thread, outcome, elapsed = _follow_in_thread(
            lambda: client.chat(
                "openai", USER, base_url=server.url, api_key="k", timeout=FOLLOWER_TIMEOUT
            )
        )
        assert not thread.is_alive(), "the follower waited past its timeout"
        (error,) = outcome
        assert isinstance(error, TimeoutError)
        assert "in flight" in str(error)
        assert elapsed[0] >= FOLLOWER_TIMEOUT * 0.95
        assert len(server.requests) == 1  # it made no call of its own
        assert leader.finish().content == "Finally."
        assert len(server.requests) == 1

    def test_the_clients_timeout_bounds_the_wait(
        self, server: ProviderServer, held: HeldAtTheServer
    ) -> None:
        """A call without timeout= waits at most the client's timeout."""
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy, timeout=FOLLOWER_TIMEOUT) as client:
            leader = Leader(client, server, held)
            leader.start()
            thread, outcome, _ = _follow_in_thread(
                lambda: client.chat("openai", USER, base_url=server.url, api_key="k")
            )
            assert not thread.is_alive(), "the follower waited past the client's timeout"
            assert isinstance(outcome[0], TimeoutError)
            leader.finish()
        assert len(server.requests) == 1

    def test_the_leaders_answer_is_still_cached(
        self, client: Client, server: ProviderServer, held: HeldAtTheServer
    ) -> None:
        """The follower giving up does not stop the leader from storing its answer."""
        leader = Leader(client, server, held)
        leader.start()
        _follow_in_thread(
            lambda: client.chat(
                "openai", USER, base_url=server.url, api_key="k", timeout=FOLLOWER_TIMEOUT
            )
        )
        leader.finish()
        again = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert again.metadata["from_cache"] is True
        assert len(server.requests) == 1


class TestAsyncFollower:
    """A task following a leader that never finishes gets TimeoutError after its own timeout."""

    async def test_the_per_call_timeout_bounds_the_wait(
        self, client: Client, server: ProviderServer, held: HeldAtTheServer
    ) -> None:
        leader = Leader(client, server, held)
        await asyncio.to_thread(leader.start)
        started = time.monotonic()
        follower = client.achat(
            "openai", USER, base_url=server.url, api_key="k", timeout=FOLLOWER_TIMEOUT
        )
        with pytest.raises(TimeoutError, match="in flight"):
            await asyncio.wait_for(follower, BOUND_S)
        assert time.monotonic() - started >= FOLLOWER_TIMEOUT * 0.95
        assert len(server.requests) == 1
        await asyncio.to_thread(leader.finish)
        await client.aclose()
