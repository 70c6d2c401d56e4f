"""The shared httpx clients of a :class:`~exllm_py.client.Client`, built in one place.

The transport stack, innermost first: the network transport (or one the user
passed), the :class:`~exllm_py.pipeline.credentials.CredentialGuard`, then
whatever the cache strategy wraps around it (the test cache's recorder).
Requests for the offline mock provider's host are routed to it before the
stack, so they never reach the network nor the recorder (a host comparison:
an httpx mount would compile a URL pattern on a process's first call).

The network transport is made on the first request that reaches it, with
one SSL context shared by the whole process: a call answered by the cache,
the recorder or the mock provider never builds one (loading the CA bundle
is most of a first call's cost), and a test suite that makes a client per
test loads the bundle once. The context is made from the environment as
httpx reads it (``SSL_CERT_FILE``, ``SSL_CERT_DIR``) when first needed.
The proxy a request goes through comes from the environment too
(``HTTPS_PROXY``, ``NO_PROXY``...: :mod:`exllm_py.proxy_routes`), read on
the network transport's first request; an httpx client given a transport
of ours would ignore them, so the network transport keeps one httpx
transport per proxy itself.

Async clients are kept per event loop: an ``httpx.AsyncClient``'s
connections belong to the loop that opened them, and a process may run
several loops in turn (``asyncio.run`` per job, pytest-asyncio per test).
Each is closed when its loop shuts down: an async generator parked in the
loop is finalized by ``loop.shutdown_asyncgens()`` (which ``asyncio.run``
calls), and its ``finally`` closes the client.
"""

from __future__ import annotations

import functools
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from exllm_py.pipeline.credentials import CredentialGuard
from exllm_py.providers.mock import MOCK_BASE_URL, MockProvider

if TYPE_CHECKING:
    import asyncio

    from exllm_py.proxy_routes import ProxyRoutes

__all__ = [
    "AsyncMockRouter",
    "AsyncNetworkTransport",
    "HttpClients",
    "MockRouter",
    "NetworkTransport",
    "shared_ssl_context",
]

# "http", "mock.exllm.invalid": split by hand, as parsing a URL at import would cost.
_MOCK_SCHEME, _, _MOCK_PATH = MOCK_BASE_URL.partition("://")
_MOCK_HOST = _MOCK_PATH.split("/", 1)[0]

_Transport = TypeVar("_Transport", httpx.HTTPTransport, httpx.AsyncHTTPTransport)


class HttpClients:
    """Lazily built ``httpx.Client`` and per-loop ``httpx.AsyncClient`` over one transport stack."""

    def __init__(
        self,
        *,
        wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport],
        awrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport],
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        mock: MockProvider | None = None,
        timeout: float | None = 60.0,
    ) -> None:
        self._wrap = wrap
        self._awrap = awrap
        self._transport = transport
        self._async_transport = async_transport
        self.mock = mock or MockProvider()
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    @property
    def sync(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    inner = self._transport or NetworkTransport()
                    stack = self._wrap(CredentialGuard(transport=inner))
                    self._sync = httpx.Client(
                        transport=MockRouter(self.mock, stack), timeout=self._timeout
                    )
                client = self._sync
        return client

    async def async_client(self) -> httpx.AsyncClient:
        """The running loop's client, created (and set to close with the loop) on first use."""
        import asyncio  # loaded already, under a running loop; a sync-only process never is

        loop = asyncio.get_running_loop()
        known = self._async.get(loop)
        if known is not None:
            return known[0]
        inner = self._async_transport or AsyncNetworkTransport()
        stack = self._awrap(CredentialGuard(async_transport=inner))
        client = httpx.AsyncClient(
            transport=AsyncMockRouter(self.mock, stack), timeout=self._timeout
        )
        closer = _close_at_loop_shutdown(client)
        await anext(closer)
        self._async[loop] = (client, closer)
        return client

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None

    async def aclose(self) -> None:
        import asyncio

        known = self._async.pop(asyncio.get_running_loop(), None)
        if known is not None:
            await known[1].aclose()


async def _close_at_loop_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


def _for_mock(request: httpx.Request) -> bool:
    url = request.url
    return url.host == _MOCK_HOST and url.scheme == _MOCK_SCHEME


class MockRouter(httpx.BaseTransport):
    """The mock provider's requests to it, every other one down the transport stack."""

    def __init__(self, mock: MockProvider, stack: httpx.BaseTransport) -> None:
        self._mock = mock
        self._stack = stack

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _for_mock(request):
            return self._mock.handle_request(request)
        return self._stack.handle_request(request)

    def close(self) -> None:
        self._stack.close()


class AsyncMockRouter(httpx.AsyncBaseTransport):
    """:class:`MockRouter` for an ``httpx.AsyncClient``."""

    def __init__(self, mock: MockProvider, stack: httpx.AsyncBaseTransport) -> None:
        self._mock = mock
        self._stack = stack

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _for_mock(request):
            return await self._mock.handle_async_request(request)
        return await self._stack.handle_async_request(request)

    async def aclose(self) -> None:
        await self._stack.aclose()


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's SSL context for provider calls, made on first use (as httpx makes one)."""
    return httpx.create_ssl_context()


class _TransportsByProxy(Generic[_Transport]):
    """One httpx transport per proxy (``None``: direct), each made when first needed.

    The environment is read on the first request, as httpx reads it when a
    client is made (see :mod:`exllm_py.proxy_routes`).
    """

    def __init__(self, make: Callable[[str | None], _Transport]) -> None:
        self._make: Callable[[str | None], _Transport] = make
        self._lock = threading.Lock()
        self._routes: ProxyRoutes | None = None
        self._made: dict[str | None, _Transport] = {}

    def for_url(self, url: httpx.URL) -> _Transport:
        routes = self._routes
        if routes is None:
            # Imported here: a process whose calls never reach the network
            # (cached, replayed, mocked) never pays for it.
            from exllm_py.proxy_routes import ProxyRoutes

            routes = self._routes = ProxyRoutes.from_environment()
        proxy = routes.proxy_for(url)
        transport = self._made.get(proxy)
        if transport is None:
            with self._lock:
                transport = self._made.get(proxy)
                if transport is None:
                    transport = self._made[proxy] = self._make(proxy)
        return transport

    def take_all(self) -> list[_Transport]:
        """Every transport made so far, forgotten here (for the caller to close)."""
        with self._lock:
            made, self._made = list(self._made.values()), {}
        return made


class NetworkTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport()`` per proxy (or none), made when the first request needs it."""

    def __init__(self) -> None:
        self._transports = _TransportsByProxy(
            lambda proxy: httpx.HTTPTransport(verify=shared_ssl_context(), proxy=proxy)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transports.for_url(request.url).handle_request(request)

    def close(self) -> None:
        for transport in self._transports.take_all():
            transport.close()


class AsyncNetworkTransport(httpx.AsyncBaseTransport):
    """:class:`NetworkTransport` for an ``httpx.AsyncClient``, one per event loop.

    (See :class:`HttpClients`: an async transport's connections belong to
    the loop that opened them.)
    """

    def __init__(self) -> None:
        self._transports = _TransportsByProxy(
            lambda proxy: httpx.AsyncHTTPTransport(verify=shared_ssl_context(), proxy=proxy)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transports.for_url(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._transports.take_all():
            await transport.aclose()
