"""The client's network transport: made on the first request that needs it, one SSL context.

Each test runs a fresh process, as a user's script or test run starts: what
the SSL context costs, and when it is made, is decided there. An unreadable
CA bundle (``SSL_CERT_FILE`` naming no file) makes building an SSL context
fail, which tells when one is built.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import ClassVar

import httpx
import pytest

from exllm_py import Client
from exllm_py.errors import ConfigurationError, ProviderError
from exllm_py.providers.mock import MOCK_BASE_URL, MockProvider
from exllm_py.transport import AsyncMockRouter, MockRouter, NetworkTransport
from tests.fakes.provider_server import ProviderServer


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


class TestNoSslContextUntilTheNetwork:
    """Calls the network never sees build no SSL context."""

    def test_cached_and_mock_calls_never_read_the_ca_bundle(self) -> None:
        """A hundred clients, a mock call each and cached calls: no CA bundle read at all."""
        result = run_python(
            """
            from exllm_py import Client
            from exllm_py.cache import ProductionStrategy

            strategy = ProductionStrategy()
            for index in range(100):
                with Client(cache_strategy=strategy) as client:
                    client.chat("mock", [{"role": "user", "content": str(index % 3)}])
            print("ok")
            """,
            SSL_CERT_FILE="/nonexistent/ca-bundle.pem",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ok\n"

    def test_the_first_network_request_builds_it(self) -> None:
        """The bundle is read when a request goes out, and its failure names the file's absence."""
        result = run_python(
            """
            from exllm_py import Client
            with Client() as client:
                client.chat("openai", [{"role": "user", "content": "hi"}],
                            api_key="sk-test", base_url="https://127.0.0.1:9/v1", max_retries=0)
            """,
            SSL_CERT_FILE="/nonexistent/ca-bundle.pem",
        )
        assert result.returncode != 0
        assert "FileNotFoundError" in result.stderr


# Counts the CA bundle loads of the process: one per SSL context made.
COUNTING_CONTEXTS = """
import ssl
made = []
original = ssl.SSLContext.load_verify_locations
def counting(self, *args, **kwargs):
    made.append(1)
    return original(self, *args, **kwargs)
ssl.SSLContext.load_verify_locations = counting
"""


class TestOneContextPerProcess:
    """Clients made one after another share the network's SSL context (plain HTTP here:
    httpx builds a context with every transport, whatever the scheme)."""

    def test_many_clients_reach_a_server_with_one_context(self) -> None:
        """Every client's request arrives; the process made one SSL context for all of them."""
        with ProviderServer(text="Paris.") as server:
            result = run_python(
                COUNTING_CONTEXTS
                + textwrap.dedent(
                    f"""
                from exllm_py import Client
                for index in range(20):
                    with Client() as client:
                        answer = client.chat(
                            "openai", [{{"role": "user", "content": str(index)}}],
                            api_key="sk-test", base_url="{server.url}/v1", cache=False,
                        )
                        assert answer.content == "Paris.", answer
                print(len(made))
                """
                )
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout == "1\n"
            assert len(server.requests) == 20

    def test_async_clients_share_it_too(self) -> None:
        """Async clients, one event loop after another, all reach the server on one context."""
        with ProviderServer(text="Paris.") as server:
            result = run_python(
                COUNTING_CONTEXTS
                + textwrap.dedent(
                    f"""
                import asyncio

                from exllm_py import Client

                async def ask(index):
                    async with Client() as client:
                        answer = await client.achat(
                            "openai", [{{"role": "user", "content": str(index)}}],
                            api_key="sk-test", base_url="{server.url}/v1", cache=False,
                        )
                        assert answer.content == "Paris.", answer

                for index in range(5):
                    asyncio.run(ask(index))
                print(len(made))
                """
                )
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout == "1\n"
            assert len(server.requests) == 5


class TestMockRouting:
    """The mock provider's host goes to the mock; every other request down the stack."""

    @staticmethod
    def _stack_log() -> tuple[list[str], httpx.MockTransport]:
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return httpx.Response(200, json={"from": "stack"})

        return seen, httpx.MockTransport(answer)

    def test_the_mock_host_is_answered_by_the_mock_and_never_reaches_the_stack(self) -> None:
        seen, stack = self._stack_log()
        with httpx.Client(transport=MockRouter(MockProvider(), stack)) as client:
            response = client.post(
                f"{MOCK_BASE_URL}/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            )
        assert response.json()["object"] == "chat.completion"
        assert seen == []

    def test_other_hosts_and_the_mock_host_over_https_go_down_the_stack(self) -> None:
        seen, stack = self._stack_log()
        urls = ["http://127.0.0.1:9/v1/models", "https://mock.exllm.invalid/v1/models"]
        with httpx.Client(transport=MockRouter(MockProvider(), stack)) as client:
            answers = [client.get(url).json() for url in urls]
        assert answers == [{"from": "stack"}, {"from": "stack"}]
        assert seen == urls

    async def test_the_async_router_routes_alike(self) -> None:
        seen, stack = self._stack_log()
        async with httpx.AsyncClient(transport=AsyncMockRouter(MockProvider(), stack)) as client:
            mocked = await client.post(
                f"{MOCK_BASE_URL}/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            )
            other = await client.get("http://127.0.0.1:9/v1/models")
        assert mocked.json()["object"] == "chat.completion"
        assert other.json() == {"from": "stack"}
        assert seen == ["http://127.0.0.1:9/v1/models"]

    def test_closing_the_client_closes_the_stack(self) -> None:
        closed: list[str] = []

        class Stack(httpx.BaseTransport):
            def close(self) -> None:
                closed.append("stack")

        httpx.Client(transport=MockRouter(MockProvider(), Stack())).close()
        assert closed == ["stack"]


class TestProxiesFromTheEnvironment:
    """Network requests go through the proxy the environment names, as httpx's own would.

    A proxy receives requests for any host: the loopback server standing in for
    one answers a request for ``provider.test`` (a name that resolves nowhere)
    only when the request was sent to it as a proxy.
    """

    MESSAGES: ClassVar = [{"role": "user", "content": "hi"}]

    @pytest.fixture
    def environment(self, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
        for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(name.upper(), raising=False)
        return monkeypatch

    def test_a_call_goes_through_http_proxy(self, environment: pytest.MonkeyPatch) -> None:
        with ProviderServer(text="via the proxy") as proxy:
            environment.setenv("HTTP_PROXY", proxy.url)
            with Client(cache_strategy=None) as client:
                answer = client.chat(
                    "openai", self.MESSAGES, base_url="http://provider.test/v1", api_key="sk-test"
                )
        assert answer.content == "via the proxy"
        assert [(r.path, r.headers["host"]) for r in proxy.requests] == [
            ("/v1/chat/completions", "provider.test")
        ]

    async def test_an_async_call_goes_through_it_too(self, environment: pytest.MonkeyPatch) -> None:
        with ProviderServer(text="via the proxy") as proxy:
            environment.setenv("ALL_PROXY", proxy.url)
            async with Client(cache_strategy=None) as client:
                answer = await client.achat(
                    "openai", self.MESSAGES, base_url="http://provider.test/v1", api_key="sk-test"
                )
        assert answer.content == "via the proxy"
        assert [r.headers["host"] for r in proxy.requests] == ["provider.test"]

    def test_no_proxy_hosts_go_direct(self, environment: pytest.MonkeyPatch) -> None:
        with ProviderServer() as proxy, ProviderServer(text="direct") as provider:
            environment.setenv("HTTP_PROXY", proxy.url)
            environment.setenv("NO_PROXY", "localhost,127.0.0.1")
            with Client(cache_strategy=None) as client:
                answer = client.chat(
                    "openai", self.MESSAGES, base_url=f"{provider.url}/v1", api_key="sk-test"
                )
        assert answer.content == "direct"
        assert proxy.requests == []
        assert len(provider.requests) == 1

    def test_a_refusing_proxy_is_named_in_the_error(self, environment: pytest.MonkeyPatch) -> None:
        """The stand-in answers CONNECT with 501: the error says a proxy stood in the way."""
        with ProviderServer() as proxy:
            environment.setenv("HTTPS_PROXY", proxy.url)
            with Client(cache_strategy=None) as client, pytest.raises(ProviderError) as caught:
                client.chat(
                    "openai", self.MESSAGES, base_url="https://provider.test/v1", api_key="sk-test"
                )
        message = str(caught.value)
        assert message.startswith(
            "could not reach openai at https://provider.test/v1 through the proxy "
            "HTTPS_PROXY, HTTP_PROXY or ALL_PROXY names (NO_PROXY lists the hosts that go direct)"
        )
        assert message.endswith("501 Unsupported method ('CONNECT')")

    def test_an_unusable_proxy_is_refused_before_any_request(
        self, environment: pytest.MonkeyPatch
    ) -> None:
        with ProviderServer() as provider:
            environment.setenv("HTTP_PROXY", "ftp://corp.proxy:21")
            with Client(cache_strategy=None) as client, pytest.raises(ConfigurationError) as caught:
                client.chat(
                    "openai", self.MESSAGES, base_url=f"{provider.url}/v1", api_key="sk-test"
                )
        assert str(caught.value).startswith("HTTP_PROXY is 'ftp://corp.proxy:21'")
        assert provider.requests == []

    def test_the_environment_is_read_once_per_client(self, environment: pytest.MonkeyPatch) -> None:
        """Proxy variables changed after a client's first request do not move its requests."""
        with ProviderServer() as proxy:
            environment.setenv("HTTP_PROXY", proxy.url)
            with Client(cache_strategy=None) as client:
                self._chat(client, "http://provider.test/v1")
                environment.setenv("HTTP_PROXY", "ftp://elsewhere:21")
                self._chat(client, "http://provider.test/v1")
        assert [r.headers["host"] for r in proxy.requests] == ["provider.test"] * 2

    @pytest.mark.parametrize("direct_first", [True, False])
    def test_one_client_mixes_direct_and_proxied_hosts(
        self, environment: pytest.MonkeyPatch, direct_first: bool
    ) -> None:
        with ProviderServer() as proxy, ProviderServer(text="direct") as provider:
            environment.setenv("HTTP_PROXY", proxy.url)
            environment.setenv("NO_PROXY", "127.0.0.1")
            with Client(cache_strategy=None) as client:
                urls = [f"{provider.url}/v1", "http://provider.test/v1"]
                for url in urls if direct_first else urls[::-1]:
                    self._chat(client, url)
        assert [r.headers["host"] for r in proxy.requests] == ["provider.test"]
        assert len(provider.requests) == 1

    def test_requests_to_one_route_share_its_connections(
        self, environment: pytest.MonkeyPatch
    ) -> None:
        """Three requests in turn reuse one kept-alive connection: one pool per route."""
        with ProviderServer() as provider, httpx.Client(transport=NetworkTransport()) as client:
            local_ports = {
                client.post(f"{provider.url}/v1/chat/completions", json={"model": "m"})
                .extensions["network_stream"]
                .get_extra_info("client_addr")[1]
                for _ in range(3)
            }
        assert len(local_ports) == 1

    def _chat(self, client: Client, base_url: str) -> str:
        answer = client.chat(
            "openai", self.MESSAGES, base_url=base_url, api_key="sk-test", cache=False
        )
        return answer.content

    def test_a_clients_own_transport_is_left_alone(self, environment: pytest.MonkeyPatch) -> None:
        """A transport the user passes is theirs: the environment's proxy is not put before it."""
        with ProviderServer() as proxy, ProviderServer(text="theirs") as provider:
            environment.setenv("HTTP_PROXY", proxy.url)
            transport = httpx.HTTPTransport()
            with Client(cache_strategy=None, transport=transport) as client:
                answer = client.chat(
                    "openai", self.MESSAGES, base_url=f"{provider.url}/v1", api_key="sk-test"
                )
        assert answer.content == "theirs"
        assert proxy.requests == []
