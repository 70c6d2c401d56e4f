"""``CredentialGuard``: the last transport before the network refuses requests with no key.

The pipeline does not fail a call for a missing API key up front, because a
cached or recorded answer needs none. It marks the request instead; if the
request gets as far as this transport, it would reach the provider, so it
fails here with the env var to set, before any byte is sent.
"""

from __future__ import annotations

import httpx

from exllm_py.errors import MissingAPIKey
from exllm_py.extensions import MISSING_KEY

__all__ = ["CredentialGuard"]


class CredentialGuard(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps the network transports; raises ``MissingAPIKey`` for unkeyed requests."""

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._transport = transport
        self._async_transport = async_transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_if_unkeyed(request)
        assert self._transport is not None, "built with a sync transport"
        return self._transport.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_if_unkeyed(request)
        assert self._async_transport is not None, "built with an async transport"
        return await self._async_transport.handle_async_request(request)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def aclose(self) -> None:
        if self._async_transport is not None:
            await self._async_transport.aclose()


def _refuse_if_unkeyed(request: httpx.Request) -> None:
    missing = request.extensions.get(MISSING_KEY)
    if missing is not None:
        provider, env_var = missing
        raise MissingAPIKey(
            f"no API key for {provider}: set the {env_var} environment variable "
            "or pass api_key=... to the call",
            provider=provider,
            env_var=env_var,
        )
