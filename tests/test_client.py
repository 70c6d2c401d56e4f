"""Client: strategy selection, the default client, and connection lifetimes."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest

import exllm_py
from exllm_py import Client, MockProvider
from exllm_py.cache.arguments import MAX_TIMEOUT
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.client import default_client, strategy_from_env
from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.pipeline import DEFAULT_PIPELINE
from tests.fakes.payloads import openai_completion
from tests.fakes.provider_server import ProviderServer

USER = [{"role": "user", "content": "Hi"}]


class TestStrategySelection:
    """EXLLM_CACHE_STRATEGY picks the strategy; production is the default."""

    def test_production_is_the_default(self) -> None:
        assert isinstance(strategy_from_env({}), ProductionStrategy)

    def test_none_disables_caching(self) -> None:
        assert isinstance(strategy_from_env({"EXLLM_CACHE_STRATEGY": "none"}), NoCache)

    def test_test_selects_the_record_replay_strategy(self) -> None:
        strategy = strategy_from_env({"EXLLM_CACHE_STRATEGY": "TEST"})
        assert type(strategy).__name__ == "TestStrategy"

    def test_an_unknown_name_says_what_is_accepted(self) -> None:
        with pytest.raises(ConfigurationError, match="use production, test or none"):
            strategy_from_env({"EXLLM_CACHE_STRATEGY": "redis"})

    def test_the_environment_sets_the_default_clients_strategy(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_CACHE_STRATEGY", "none")
        exllm_py.client.reset_default_client()
        assert isinstance(default_client().cache_strategy, NoCache)


class TestConfigure:
    """configure() replaces the default client's strategy."""

    def test_configure_swaps_the_strategy(self) -> None:
        strategy = ProductionStrategy()
        exllm_py.configure(cache_strategy=strategy)
        exllm_py.chat("mock", USER)
        exllm_py.chat("mock", USER)
        assert strategy.stats().hits == 1

    def test_a_client_keeps_its_own_strategy(self) -> None:
        client = Client(cache_strategy=NoCache(), mock=MockProvider("x"))
        client.chat("mock", USER)
        client.chat("mock", USER)
        assert client.mock.calls == 2


class _Closes(httpx.BaseTransport):
    """Wraps a transport, counting how often the client stack above it is closed."""

    def __init__(self, inner: httpx.BaseTransport, closed: list[str], name: str) -> None:
        self._inner, self._closed, self._name = inner, closed, name

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._closed.append(self._name)


class _Wrapping(NoCache):
    """No caching; wraps the transport so that each stack built over it is seen."""

    def __init__(self, name: str, closed: list[str]) -> None:
        self.name, self.closed, self.wrapped = name, closed, 0

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        self.wrapped += 1
        return _Closes(transport, self.closed, self.name)


class TestStrategySwap:
    """Swapping back to the strategy just replaced reuses its httpx clients; older ones close."""

    @staticmethod
    def _answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=openai_completion("Hello"))

    def _client(self, strategy: _Wrapping) -> Client:
        return Client(cache_strategy=strategy, transport=httpx.MockTransport(self._answer))

    def _ask(self, client: Client) -> None:
        client.chat("openai", USER, api_key="k", base_url="https://api.example.test/v1")

    def test_swapping_back_and_forth_builds_each_stack_once(self) -> None:
        closed: list[str] = []
        first, second = _Wrapping("first", closed), _Wrapping("second", closed)
        client = self._client(first)
        for strategy in (first, second, first, second, first):
            client.cache_strategy = strategy
            self._ask(client)
        assert (first.wrapped, second.wrapped) == (1, 1)
        assert closed == []
        client.close()
        assert sorted(closed) == ["first", "second"]

    def test_a_third_strategy_closes_the_oldest_stack(self) -> None:
        closed: list[str] = []
        strategies = [_Wrapping(name, closed) for name in ("first", "second", "third")]
        client = self._client(strategies[0])
        for strategy in strategies:
            client.cache_strategy = strategy
            self._ask(client)
        assert closed == ["first"]
        client.cache_strategy = strategies[1]
        self._ask(client)
        assert strategies[1].wrapped == 1


class TestBaseUrlFromEnvironment:
    """<PROVIDER>_BASE_URL points a provider elsewhere."""

    def test_the_env_base_url_is_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with ProviderServer() as server:
            monkeypatch.setenv("GROQ_BASE_URL", server.url + "/openai/v1")
            monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
            with Client(cache_strategy=NoCache()) as client:
                response = client.chat("groq", USER)
            assert response.provider == "groq"
            request = server.last_request
        assert request.path == "/openai/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer gsk-test"

    def test_the_call_option_wins_over_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        with ProviderServer() as server:
            with Client(cache_strategy=NoCache()) as client:
                client.chat("openai", USER, base_url=server.url, api_key="k")
            assert len(server.requests) == 1


class TestAsyncConnections:
    """Each event loop gets its own async connections, closed when the loop ends."""

    def test_successive_asyncio_runs_reuse_the_client_safely(self) -> None:
        client = Client(cache_strategy=NoCache())
        with ProviderServer() as server:
            for _ in range(3):
                response = asyncio.run(
                    client.achat("openai", USER, base_url=server.url, api_key="k")
                )
                assert response.content
            assert len(server.requests) == 3
        gc.collect()  # an unclosed connection would warn here, and warnings are errors

    async def test_aclose_closes_this_loops_connections(self) -> None:
        client = Client(cache_strategy=NoCache())
        with ProviderServer() as server:
            await client.achat("openai", USER, base_url=server.url, api_key="k")
            http = await client._http.async_client()
            await client.aclose()
            assert http.is_closed


NOT_A_STRATEGY = [MemoryStore(), ProductionStrategy, "production", lambda: None]


class TestArguments:
    """Every Client argument, and configure()'s, is checked at once; the error names it."""

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("timeout", float("inf")),
            ("timeout", float("nan")),
            ("timeout", -1.0),
            ("timeout", 0),
            ("timeout", True),
            ("timeout", "60"),
            ("timeout", MAX_TIMEOUT + 1),
            ("cache_strategy", MemoryStore()),
            ("cache_strategy", ProductionStrategy),
            ("cache_strategy", "production"),
            ("transport", "http://proxy:8080"),
            ("transport", httpx.HTTPTransport),
            ("transport", httpx.AsyncHTTPTransport()),
            ("async_transport", httpx.HTTPTransport()),
            ("async_transport", httpx.AsyncHTTPTransport),
            ("mock", "ok"),
            ("mock", httpx.MockTransport(lambda request: httpx.Response(200))),
            ("env", ["OPENAI_API_KEY=k"]),
            ("env", "OPENAI_API_KEY=k"),
            ("pipeline", None),
            ("pipeline", []),
        ],
    )
    def test_a_bad_value_is_refused(self, argument: str, value: object) -> None:
        with pytest.raises(ValidationError, match=f"Client {argument} must be"):
            Client(**{argument: value})  # type: ignore[arg-type]

    def test_an_infinite_timeout_says_what_is_accepted(self) -> None:
        with pytest.raises(ValidationError) as raised:
            Client(timeout=float("inf"))
        assert "at most 604,800 (a week)" in str(raised.value)
        assert "or None: no timeout" in str(raised.value)

    def test_a_bad_env_is_not_shown(self) -> None:
        """env may hold API keys: the message gives its type, never its contents."""
        with pytest.raises(ValidationError) as raised:
            Client(env=["OPENAI_API_KEY=sk-secret"])  # type: ignore[arg-type]
        assert "sk-secret" not in str(raised.value)
        assert "got list" in str(raised.value)

    @pytest.mark.parametrize("strategy", NOT_A_STRATEGY)
    def test_a_strategy_set_later_is_checked(self, strategy: object) -> None:
        with Client(cache_strategy=NoCache()) as client:
            with pytest.raises(ValidationError, match="Client cache_strategy must be"):
                client.cache_strategy = strategy  # type: ignore[assignment]
            assert isinstance(client.cache_strategy, NoCache)
            assert client.chat("mock", USER).content

    @pytest.mark.parametrize("strategy", NOT_A_STRATEGY)
    def test_configure_refuses_what_is_no_strategy(self, strategy: object) -> None:
        kept = exllm_py.configure(cache_strategy=NoCache()).cache_strategy
        with pytest.raises(ValidationError, match="configure cache_strategy must be"):
            exllm_py.configure(cache_strategy=strategy)  # type: ignore[arg-type]
        assert default_client().cache_strategy is kept
        assert exllm_py.chat("mock", USER).content

    def test_good_values_are_kept(self) -> None:
        strategy, mock = NoCache(), MockProvider("fine")
        transport, async_transport = httpx.HTTPTransport(), httpx.AsyncHTTPTransport()
        with Client(
            cache_strategy=strategy,
            timeout=MAX_TIMEOUT,
            transport=transport,
            async_transport=async_transport,
            mock=mock,
            env={"OPENAI_API_KEY": "k"},
            pipeline=DEFAULT_PIPELINE,
        ) as client:
            assert (client.cache_strategy, client.timeout) == (strategy, MAX_TIMEOUT)
            assert client.chat("mock", USER).content == "fine"
        for timeout in (None, 0.001, 60):
            Client(cache_strategy=NoCache(), timeout=timeout).close()
