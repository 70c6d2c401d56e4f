"""Tests for exllm_py.pipeline.exchange: an error status becomes an error carrying its body.

Answers come over a real socket from the loopback provider server. A
streamed request's body is read only on demand, so an error status there
must read it before the error is built.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import AuthenticationError, ProviderError
from tests.fakes import ProviderServer, json_reply, openai_error, provider_server

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]
DETAIL = "Invalid value for 'temperature'"


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), env={"OPENAI_API_KEY": "sk-test"}) as client:
        yield client


def _refused(server: ProviderServer, status: int) -> None:
    server.enqueue(json_reply(openai_error(DETAIL), status=status))


class TestErrorStatus:
    """400 and above raise, with the provider's own words; below 400 is an answer."""

    @pytest.mark.parametrize(("status", "reason"), [(400, "Bad Request"), (401, "Unauthorized")])
    def test_a_call_raises_with_the_detail(
        self, client: Client, provider_server: ProviderServer, status: int, reason: str
    ) -> None:
        _refused(provider_server, status)
        with pytest.raises(ProviderError) as caught:
            client.chat("openai", USER, base_url=provider_server.url)
        assert caught.value.status == status
        assert str(caught.value) == f"openai answered {status} {reason}: {DETAIL}"

    @pytest.mark.parametrize("status", [400, 401])
    def test_a_stream_raises_with_the_detail(
        self, client: Client, provider_server: ProviderServer, status: int
    ) -> None:
        _refused(provider_server, status)
        with pytest.raises(ProviderError) as caught:
            list(client.stream("openai", USER, base_url=provider_server.url))
        assert caught.value.status == status
        assert str(caught.value).endswith(f": {DETAIL}")

    @pytest.mark.parametrize("status", [400, 401])
    async def test_an_async_stream_raises_with_the_detail(
        self, client: Client, provider_server: ProviderServer, status: int
    ) -> None:
        _refused(provider_server, status)
        with pytest.raises(ProviderError) as caught:
            async for _ in client.astream("openai", USER, base_url=provider_server.url):
                pass
        assert caught.value.status == status
        assert str(caught.value).endswith(f": {DETAIL}")

    async def test_an_async_call_raises_the_matching_class(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        _refused(provider_server, 401)
        with pytest.raises(AuthenticationError, match=DETAIL):
            await client.achat("openai", USER, base_url=provider_server.url)
