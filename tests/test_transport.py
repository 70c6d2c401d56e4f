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

import httpx

from exllm_py.providers.mock import MOCK_BASE_URL, MockProvider
from exllm_py.transport import AsyncMockRouter, MockRouter
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


class TestOneContextPerProcess:
    """Clients made one after another share the network's SSL context (plain HTTP here:
    httpx builds a context with every transport, whatever the scheme)."""

    def test_many_clients_reach_a_server_with_one_context(self) -> None:
        """Every client's request arrives; the process made one SSL context for all of them."""
        with ProviderServer(text="Paris.") as server:
            result = run_python(
                f"""
                import ssl
                made = []
                original = ssl.SSLContext.load_verify_locations
                def counting(self, *args, **kwargs):
                    made.append(1)
                    return original(self, *args, **kwargs)
                ssl.SSLContext.load_verify_locations = counting

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
            assert result.returncode == 0, result.stderr
            assert result.stdout == "1\n"
            assert len(server.requests) == 20


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
