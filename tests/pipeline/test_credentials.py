"""Tests for exllm_py.pipeline.credentials: the guard in front of the network transports.

It refuses unkeyed requests (``test_build`` shows the refusal through a
call); here, what it passes on and closes, with real transports underneath.
"""

from __future__ import annotations

import httpx
import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.pipeline.credentials import CredentialGuard
from tests.fakes import ProviderServer, provider_server
from tests.pipeline.recording_transport import RecordingTransport

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]


class TestClosing:
    """Closing a client closes the transports it was given, each once."""

    def test_the_sync_transport_is_closed(self, provider_server: ProviderServer) -> None:
        network = RecordingTransport()
        client = Client(cache_strategy=NoCache(), transport=network, env={"OPENAI_API_KEY": "k"})
        client.chat("openai", USER, base_url=provider_server.url)
        client.close()
        assert network.closed == 1

    async def test_the_async_transport_is_closed(self, provider_server: ProviderServer) -> None:
        network = RecordingTransport()
        client = Client(
            cache_strategy=NoCache(), async_transport=network, env={"OPENAI_API_KEY": "k"}
        )
        await client.achat("openai", USER, base_url=provider_server.url)
        await client.aclose()
        assert network.closed == 1

    def test_a_guard_without_a_transport_closes_quietly(self) -> None:
        CredentialGuard().close()


class TestWrongShell:
    """A guard built for one kind of transport says so when used as the other."""

    def test_a_sync_request_through_an_async_guard(self) -> None:
        guard = CredentialGuard(async_transport=httpx.AsyncHTTPTransport())
        with pytest.raises(AssertionError) as caught:
            guard.handle_request(httpx.Request("GET", "http://127.0.0.1:9/"))
        assert str(caught.value).splitlines()[0] == "built with a sync transport"

    async def test_an_async_request_through_a_sync_guard(self) -> None:
        guard = CredentialGuard(transport=httpx.HTTPTransport())
        with pytest.raises(AssertionError) as caught:
            await guard.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))
        assert str(caught.value).splitlines()[0] == "built with an async transport"
