"""A leader's client error (any 4xx) reaches only followers that send the same key.

Providers do not agree on the status of a bad key: Gemini answers a revoked
or mistyped key with 400 ``INVALID_ARGUMENT`` (reason ``API_KEY_INVALID``),
which is a plain ``ProviderError(400)``. Another tenant's valid key must
still get its own answer.
"""

from __future__ import annotations

import asyncio

import pytest

from exllm_py import Client, LLMResponse
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.singleflight import Flights, LeaderGone
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ProviderError, ServerError, TimeoutError
from tests.cache.flight_parties import Asker, asked_while_held
from tests.fakes.held_reply import HeldReply
from tests.fakes.payloads import gemini_error
from tests.fakes.provider_server import DEFAULT_TEXT, ProviderServer, json_reply

USER = [{"role": "user", "content": "Summarise the news"}]
MODEL = "gemini-2.0-flash"

API_KEY_INVALID = gemini_error(
    "API key not valid. Please pass a valid API key.",
    details=[
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
    ],
)


def ask_gemini(client: Client, server: ProviderServer, api_key: str) -> LLMResponse:
    return client.chat("gemini", USER, model=MODEL, base_url=server.url, api_key=api_key)


class TestGeminiBadKey:
    """Gemini's 400 API_KEY_INVALID, on the wire, between two tenants."""

    def test_another_tenant_gets_its_own_answer(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(API_KEY_INVALID, status=400))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            led, followed = asked_while_held(
                held,
                strategy,
                lambda: ask_gemini(client, server, "revoked-key-of-tenant-a"),
                lambda: ask_gemini(client, server, "valid-key-of-tenant-b"),
            )
            keys = [request.headers["x-goog-api-key"] for request in server.requests]
        assert isinstance(led, ProviderError)
        assert led.status == 400
        assert isinstance(followed, LLMResponse), followed
        assert followed.content == DEFAULT_TEXT
        assert keys == ["revoked-key-of-tenant-a", "valid-key-of-tenant-b"]

    def test_the_same_tenant_shares_the_error(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(API_KEY_INVALID, status=400))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            led, followed = asked_while_held(
                held,
                strategy,
                lambda: ask_gemini(client, server, "revoked-key-of-tenant-a"),
                lambda: ask_gemini(client, server, "revoked-key-of-tenant-a"),
            )
            calls = len(server.requests)
        assert isinstance(led, ProviderError)
        assert isinstance(followed, ProviderError)
        assert followed.status == 400
        assert calls == 1


async def asked_while_held_async(
    held: HeldReply, strategy: ProductionStrategy, client: Client, server: ProviderServer
) -> tuple[object, object]:
    """From achat: tenant a's call held at the server until tenant b waits on its flight."""

    async def ask(api_key: str) -> LLMResponse:
        return await client.achat("gemini", USER, model=MODEL, base_url=server.url, api_key=api_key)

    lead = asyncio.create_task(ask("revoked-key-of-tenant-a"))
    try:
        assert await asyncio.to_thread(held.arrived.wait, 5), "the leader never reached the server"
        follow = asyncio.create_task(ask("valid-key-of-tenant-b"))
        for _ in range(10_000):  # each yield lets the follower's task run on to the flight
            if strategy.waiting() == 1:
                break
            await asyncio.sleep(0)
        assert strategy.waiting() == 1, "the follower never waited on the leader's flight"
    finally:
        held.release.set()
    led, followed = await asyncio.gather(lead, follow, return_exceptions=True)
    return led, followed


class TestGeminiBadKeyAsync:
    """From achat too, a tenant waiting on another's bad-key flight gets its own answer."""

    async def test_another_tenant_gets_its_own_answer(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(API_KEY_INVALID, status=400))
        with ProviderServer() as server, Client(cache_strategy=strategy) as client:
            server.enqueue(held)
            led, followed = await asked_while_held_async(held, strategy, client, server)
            keys = [request.headers["x-goog-api-key"] for request in server.requests]
        assert isinstance(led, ProviderError)
        assert isinstance(followed, LLMResponse), followed
        assert followed.content == DEFAULT_TEXT
        assert keys == ["revoked-key-of-tenant-a", "valid-key-of-tenant-b"]


class TestWhichErrorsStayWithTheKey:
    @pytest.mark.parametrize("status", [400, 405, 409, 413, 422, 451, 499])
    def test_every_client_error_stays_with_its_key(self, status: int) -> None:
        """Another key joins again; the same key gets the error."""
        error = ProviderError("refused", status=status, provider="gemini")
        for follower, shared in [(Asker("tenant-b"), False), (Asker("tenant-a"), True)]:
            flights: Flights[str] = Flights()
            flight, _ = flights.join("k", Asker("tenant-a"))
            flights.fail(flight, error)
            with pytest.raises(ProviderError if shared else LeaderGone):
                flight.wait(1, follower)

    @pytest.mark.parametrize("status", [500, 502, 503, 504, None])
    def test_server_errors_are_shared_across_keys(self, status: int | None) -> None:
        error = (
            ServerError("boom", status=status, provider="gemini")
            if status is not None
            else ProviderError("unreadable answer", status=status, provider="gemini")
        )
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k", Asker("tenant-a"))
        flights.fail(flight, error)
        with pytest.raises(ProviderError):
            flight.wait(1, Asker("tenant-b"))

    def test_a_timeout_is_shared_by_patience_not_by_key(self) -> None:
        flights: Flights[str] = Flights()
        flight, _ = flights.join("k", Asker("tenant-a", timeout=5.0))
        flights.fail(flight, TimeoutError("slow", provider="gemini"))
        with pytest.raises(TimeoutError):
            flight.wait(1, Asker("tenant-b", timeout=1.0))
