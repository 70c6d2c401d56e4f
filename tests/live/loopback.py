"""Recording the project's live tests without the real providers, and the tests' handle.

The live tests call the providers' real endpoints (``https://api.openai.com/v1``
and so on), so their cassettes hold the real URLs and a user with keys can
re-record them for real. On a machine without keys (or without internet),
:class:`LoopbackRouter` is the network transport instead: it sends each
request for a provider host to the loopback :class:`~tests.fakes.ProviderServer`,
which speaks that provider's documented wire format, and labels the answer
so the cassette says where it came from. :class:`Live` is what the ``live``
fixture (``conftest.py``) hands each test.
"""

from __future__ import annotations

import attrs
import httpx

import exllm_py
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.transport import SOURCE_EXTENSION
from tests.fakes import ProviderServer, Reply

__all__ = ["PROVIDER_HOSTS", "Live", "LoopbackRouter"]

#: The real hosts the live tests reach, and the wire format each speaks.
PROVIDER_HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "gemini",
}


class LoopbackRouter(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Routes provider hosts to ``server_url`` (``http://127.0.0.1:<port>``); refuses others."""

    def __init__(self, server_url: str) -> None:
        self._server = httpx.URL(server_url)
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        routed, source = self._route(request)
        response = self._sync.handle_request(routed)
        response.extensions[SOURCE_EXTENSION] = source
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        routed, source = self._route(request)
        response = await self._async.handle_async_request(routed)
        response.extensions[SOURCE_EXTENSION] = source
        return response

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()

    def _route(self, request: httpx.Request) -> tuple[httpx.Request, str]:
        provider = PROVIDER_HOSTS.get(request.url.host)
        if provider is None:
            raise AssertionError(f"the live tests only reach provider hosts, not {request.url}")
        url = request.url.copy_with(
            scheme=self._server.scheme, host=self._server.host, port=self._server.port
        )
        routed = httpx.Request(
            request.method,
            url,
            headers=request.headers,
            content=request.content,
            extensions=request.extensions,
        )
        return routed, f"loopback server speaking the {provider} wire format"


@attrs.define
class Live:
    """A live test's client, and the loopback server when that is what answers."""

    client: exllm_py.Client
    server: ProviderServer | None
    cassette: Cassette | None

    @property
    def replaying(self) -> bool:
        """Whether calls are answered from the cassette."""
        return self.cassette is not None and self.cassette.replays

    def script(self, *replies: Reply) -> None:
        """What the loopback server answers next; real providers answer for themselves."""
        if self.server is not None:
            self.server.enqueue(*replies)
