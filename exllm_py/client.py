"""``Client`` and the module-level ``chat`` / ``achat`` / ``stream`` / ``astream``.

A client holds configuration: the cache strategy, the httpx settings and the
environment it reads keys from. The module-level functions use a default
client, created on first use; :func:`configure` replaces its strategy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httpx

from exllm_py.cache.arguments import (
    MAX_TIMEOUT,
    check_has,
    check_instance,
    check_seconds,
    check_strategy,
)
from exllm_py.cache.strategy import CacheStrategy
from exllm_py.errors import ConfigurationError
from exllm_py.pipeline import DEFAULT_PIPELINE, Call, Pipeline
from exllm_py.pipeline.retry import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_POLICY,
    RetryPolicy,
    check_max_retries,
)
from exllm_py.providers.mock import MockProvider
from exllm_py.transport import HttpClients
from exllm_py.types import LLMResponse, StreamChunk

__all__ = [
    "Client",
    "achat",
    "astream",
    "chat",
    "configure",
    "default_client",
    "reset_default_client",
    "strategy_from_env",
    "stream",
]

STRATEGY_ENV = "EXLLM_CACHE_STRATEGY"


class Client:
    """Calls models through the pipeline, with one cache strategy and shared httpx clients.

    ``cache_strategy`` defaults to the one ``EXLLM_CACHE_STRATEGY`` names
    (``production`` when unset). ``transport`` / ``async_transport`` replace
    the network transports (for proxies, retries or tests); ``mock``
    configures the offline ``"mock"`` provider; ``env`` is where API keys and
    base URLs are read from (``os.environ`` by default): API keys each time a
    request is built, ``<PROVIDER>_BASE_URL`` once per client and provider.
    ``timeout`` is seconds above 0, at most a week (as a call's ``timeout``),
    or ``None`` for none; it applies to each attempt. ``max_retries`` is how
    many times a failed attempt is tried again (a call's ``max_retries``
    overrides it; :mod:`exllm_py.pipeline.retry` says which failures and
    how long it waits), ``retry_policy`` the backoff and the sleepers.
    Every argument is checked here, before any I/O: a bad one raises
    :class:`~exllm_py.errors.ValidationError` naming it.
    """

    def __init__(
        self,
        *,
        cache_strategy: CacheStrategy | None = None,
        timeout: float | None = 60.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        mock: MockProvider | None = None,
        env: Mapping[str, str] | None = None,
        pipeline: Pipeline = DEFAULT_PIPELINE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    ) -> None:
        _check_arguments(timeout, transport, async_transport, mock, env, pipeline)
        self.max_retries = check_max_retries("Client max_retries", max_retries)
        check_instance("Client retry_policy", retry_policy, RetryPolicy, "a RetryPolicy")
        self.retry_policy = retry_policy
        self.cache_strategy = strategy_from_env() if cache_strategy is None else cache_strategy
        self.timeout = timeout
        self.env = os.environ if env is None else env
        self.pipeline = pipeline
        self._transport = transport
        self._async_transport = async_transport
        self._mock = mock
        self._endpoint_env: dict[str, str | None] = {}
        # The strategy before the current one, with its httpx clients (see the setter).
        self._spare: tuple[CacheStrategy, HttpClients] | None = None
        self._http = self._build_http()

    @property
    def cache_strategy(self) -> CacheStrategy:
        return self._strategy

    @cache_strategy.setter
    def cache_strategy(self, strategy: CacheStrategy) -> None:
        check_strategy("Client cache_strategy", strategy)
        if not hasattr(self, "_http"):
            self._strategy = strategy
            return
        # The strategy may wrap the transports, so each strategy has httpx
        # clients of its own. Those of the strategy replaced are kept, not
        # closed: a live_api test swaps the user's strategy for a recording
        # one and back, and would otherwise build a client stack twice a test.
        spare, self._spare = self._spare, (self._strategy, self._http)
        self._strategy = strategy
        if spare is not None and spare[0] is strategy:
            self._http = spare[1]
            return
        if spare is not None:
            spare[1].close()
        self._http = self._build_http()

    @property
    def mock(self) -> MockProvider:
        """The offline mock provider's transport (its ``calls`` counts requests served)."""
        return self._http.mock

    def _build_http(self) -> HttpClients:
        return HttpClients(
            wrap=self._strategy.wrap_transport,
            awrap=self._strategy.wrap_async_transport,
            transport=self._transport,
            async_transport=self._async_transport,
            mock=self._mock,
            timeout=self.timeout,
        )

    def _call(
        self, provider: str, messages: Sequence[Any], options: dict[str, Any], stream: bool
    ) -> Call:
        return Call(
            provider,
            messages,
            options,
            self._strategy,
            self.env,
            stream,
            self.timeout,
            self._endpoint_env,
            self.max_retries,
            self.retry_policy,
        )

    def chat(self, provider: str, messages: Sequence[Any], **options: Any) -> LLMResponse:
        """Send ``messages`` to ``provider`` and return the complete answer."""
        return self.pipeline.run(self._call(provider, messages, options, False), self._http.sync)

    async def achat(self, provider: str, messages: Sequence[Any], **options: Any) -> LLMResponse:
        """Async twin of :meth:`chat`."""
        call = self._call(provider, messages, options, False)
        return await self.pipeline.arun(call, await self._http.async_client())

    def stream(
        self, provider: str, messages: Sequence[Any], **options: Any
    ) -> Iterator[StreamChunk]:
        """Stream the answer as ``StreamChunk`` objects; validates before returning."""
        call = self._call(provider, messages, options, True)
        return self.pipeline.stream(call, self._http.sync)  # validates before returning

    def astream(
        self, provider: str, messages: Sequence[Any], **options: Any
    ) -> AsyncIterator[StreamChunk]:
        """Async twin of :meth:`stream`; validates before returning."""
        call = self._call(provider, messages, options, True)
        served = self.pipeline.prepare_stream(call)  # validates, unless served from memory
        return _astream(self, call) if served is None else served

    def embed(self, provider: str, texts: Sequence[str], **options: Any) -> list[list[float]]:
        """One vector per text, in order, through the cache (:mod:`exllm_py.embedding`)."""
        from exllm_py.pipeline.embed import EMBED_PIPELINE  # only embedding users load it

        call = self._call(provider, texts, options, False)
        return EMBED_PIPELINE.run(call, self._http.sync)

    async def aembed(
        self, provider: str, texts: Sequence[str], **options: Any
    ) -> list[list[float]]:
        """Async twin of :meth:`embed`."""
        from exllm_py.pipeline.embed import EMBED_PIPELINE

        call = self._call(provider, texts, options, False)
        return await EMBED_PIPELINE.arun(call, await self._http.async_client())

    def close(self) -> None:
        for http in self._all_http():
            http.close()

    async def aclose(self) -> None:
        for http in self._all_http():
            await http.aclose()
            http.close()

    def _all_http(self) -> list[HttpClients]:
        return [self._http] if self._spare is None else [self._http, self._spare[1]]

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _check_arguments(
    timeout: object,
    transport: object,
    async_transport: object,
    mock: object,
    env: object,
    pipeline: object,
) -> None:
    """Refuse the constructor arguments other than the strategy (its setter checks it)."""
    if timeout is not None:
        check_seconds("Client timeout", timeout, maximum=MAX_TIMEOUT, none_means="no timeout")
    if transport is not None:
        check_has(
            "Client transport",
            transport,
            ("handle_request",),
            "an httpx transport such as httpx.HTTPTransport()",
        )
    if async_transport is not None:
        check_has(
            "Client async_transport",
            async_transport,
            ("handle_async_request",),
            "an async httpx transport such as httpx.AsyncHTTPTransport()",
        )
    if mock is not None:
        check_instance("Client mock", mock, MockProvider, "a MockProvider")
    if env is not None:
        check_instance("Client env", env, Mapping, "a mapping of names to values, like os.environ")
    check_instance("Client pipeline", pipeline, Pipeline, "a Pipeline")


async def _astream(client: Client, call: Call) -> AsyncIterator[StreamChunk]:
    # The async client is looked up when iteration starts, inside the caller's loop.
    chunks = client.pipeline.astream(call, await client._http.async_client())
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        # Closed with this generator, not when collected: a stream closed half
        # read lets go of its connection and its cache flight at once.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def strategy_from_env(env: Mapping[str, str] | None = None) -> CacheStrategy:
    """The strategy ``EXLLM_CACHE_STRATEGY`` names: ``production`` (default), ``test``, ``none``.

    ``production`` keeps its entries in the store ``EXLLM_CACHE_BACKEND``
    names (:mod:`exllm_py.cache.stores.env`: memory, disk or redis).
    """
    env = os.environ if env is None else env
    name = env.get(STRATEGY_ENV, "production").strip().lower()
    if name in ("production", ""):
        from exllm_py.cache.production import ProductionStrategy
        from exllm_py.cache.stores.env import store_from_env

        return ProductionStrategy(store_from_env(env))
    if name == "none":
        from exllm_py.cache.nocache import NoCache

        return NoCache()
    if name == "test":
        from exllm_py.testing.strategy import TestStrategy

        return TestStrategy()
    raise ConfigurationError(
        f"{STRATEGY_ENV}={name!r} is not a cache strategy; use production, test or none"
    )


_default: Client | None = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The client behind the module-level functions, created on first use."""
    global _default
    client = _default
    if client is None:
        with _default_lock:
            if _default is None:
                _default = Client()
            client = _default
    return client


def configure(*, cache_strategy: CacheStrategy | None = None) -> Client:
    """Replace the default client's cache strategy; returns the default client."""
    if cache_strategy is not None:
        check_strategy("configure cache_strategy", cache_strategy)
    client = default_client()
    if cache_strategy is not None:
        client.cache_strategy = cache_strategy
    return client


def reset_default_client() -> None:
    """Drop the default client (tests use this to start from the environment again)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None


def chat(provider: str, messages: Sequence[Any], **options: Any) -> LLMResponse:
    """Send ``messages`` to ``provider`` through the default client."""
    # Not ``default_client().chat(**options)``: re-packing the options costs a
    # noticeable share of a cache hit.
    client = _default or default_client()
    return client.pipeline.run(client._call(provider, messages, options, False), client._http.sync)


async def achat(provider: str, messages: Sequence[Any], **options: Any) -> LLMResponse:
    """Async twin of :func:`chat`."""
    client = _default or default_client()
    call = client._call(provider, messages, options, False)
    return await client.pipeline.arun(call, await client._http.async_client())


def stream(provider: str, messages: Sequence[Any], **options: Any) -> Iterator[StreamChunk]:
    """Stream the answer through the default client."""
    return default_client().stream(provider, messages, **options)


def astream(provider: str, messages: Sequence[Any], **options: Any) -> AsyncIterator[StreamChunk]:
    """Async twin of :func:`stream`."""
    return default_client().astream(provider, messages, **options)
