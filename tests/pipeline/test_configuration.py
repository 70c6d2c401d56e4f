"""Tests for exllm_py.pipeline.configuration: where a call is sent, and how long it may take.

Every call crosses a real socket to a loopback provider server; the
recording transport keeps the requests as the pipeline built them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ProviderError, TimeoutError
from tests.fakes import (
    ProviderServer,
    RecordedRequest,
    Reply,
    json_reply,
    openai_completion,
    provider_server,
)
from tests.pipeline.recording_transport import RecordingTransport

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]
PHASES = ("connect", "read", "write", "pool")
BOUND_S = 10.0  # the longest the held server waits, should a test fail before releasing it


@pytest.fixture
def network() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def client(network: RecordingTransport) -> Iterator[Client]:
    with Client(
        cache_strategy=NoCache(),
        timeout=30,
        transport=network,
        async_transport=network,
        env={"OPENAI_API_KEY": "sk-test"},
    ) as client:
        yield client


class TestBaseUrl:
    """The base URL comes from the call, else ``<PROVIDER>_BASE_URL``; its path is kept."""

    def test_trailing_slashes_go_and_the_path_stays(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        client.chat("openai", USER, base_url=f"{provider_server.url}/gateway-X//")
        assert provider_server.last_request.path == "/gateway-X/chat/completions"

    def test_a_trailing_slash_names_the_same_cache_entry(
        self, provider_server: ProviderServer
    ) -> None:
        """``…/v1/`` and ``…/v1`` are one endpoint: the second call is served from the cache."""
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy, env={"OPENAI_API_KEY": "sk-test"}) as client:
            client.chat("openai", USER, base_url=f"{provider_server.url}/v1/")
            again = client.chat("openai", USER, base_url=f"{provider_server.url}/v1")
        assert again.metadata["from_cache"] is True
        assert len(provider_server.requests) == 1

    def test_a_client_reads_the_env_base_url_once(self) -> None:
        """As the providers' SDKs do: a later change reaches new clients, not this one."""
        with ProviderServer() as first, ProviderServer() as second:
            env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": first.url}
            with Client(cache_strategy=NoCache(), env=env) as client:
                client.chat("openai", USER)
                env["OPENAI_BASE_URL"] = second.url
                client.chat("openai", USER)
            with Client(cache_strategy=NoCache(), env=env) as fresh:
                fresh.chat("openai", USER)
            assert (len(first.requests), len(second.requests)) == (2, 1)

    def test_an_empty_env_base_url_counts_as_unset(self) -> None:
        """The provider's default applies; nothing listens there, and the error names it."""
        with (
            Client(cache_strategy=NoCache(), env={"OLLAMA_BASE_URL": ""}) as client,
            pytest.raises(ProviderError, match="could not reach ollama at") as caught,
        ):
            client.chat("ollama", USER, model="llama3.2")
        assert "http://localhost:11434/v1" in str(caught.value)


class TestTimeout:
    """The call's ``timeout``, else the client's, bounds every phase of the request."""

    def test_the_calls_timeout_bounds_every_phase(
        self, client: Client, network: RecordingTransport, provider_server: ProviderServer
    ) -> None:
        client.chat("openai", USER, base_url=provider_server.url, timeout=2.5)
        assert network.requests[0].extensions["timeout"] == dict.fromkeys(PHASES, 2.5)

    def test_without_one_the_clients_applies(
        self, client: Client, network: RecordingTransport, provider_server: ProviderServer
    ) -> None:
        client.chat("openai", USER, base_url=provider_server.url)
        assert network.requests[0].extensions["timeout"] == dict.fromkeys(PHASES, 30)

    def test_two_timeouts_to_one_endpoint_stay_apart(
        self, client: Client, network: RecordingTransport, provider_server: ProviderServer
    ) -> None:
        for timeout in (4, 9, 4):
            client.chat("openai", USER, base_url=provider_server.url, timeout=timeout)
        sent = [request.extensions["timeout"]["read"] for request in network.requests]
        assert sent == [4, 9, 4]

    def test_a_timeout_names_the_clients_timeout(self, provider_server: ProviderServer) -> None:
        """The server holds its answer until the test ends, so only the timeout can end the call."""
        release = threading.Event()

        def held(request: RecordedRequest) -> Reply:
            release.wait(BOUND_S)
            return json_reply(openai_completion("Too late."))

        provider_server.route("/chat/completions", held)  # every attempt, should one be retried
        env = {"OPENAI_API_KEY": "sk-test"}
        try:
            with (
                Client(cache_strategy=NoCache(), timeout=0.2, env=env) as client,
                pytest.raises(TimeoutError) as caught,
            ):
                client.chat("openai", USER, base_url=provider_server.url)
        finally:
            release.set()
        assert str(caught.value).startswith("openai did not answer within 0.2s (")

    async def test_async_calls_set_the_same(
        self, client: Client, network: RecordingTransport, provider_server: ProviderServer
    ) -> None:
        await client.achat("openai", USER, base_url=provider_server.url, timeout=7)
        assert network.requests[0].extensions["timeout"] == dict.fromkeys(PHASES, 7)
