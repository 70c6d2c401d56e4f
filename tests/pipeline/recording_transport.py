"""A real network transport that also keeps what the pipeline handed it.

It sends every request over loopback with httpx's own transport, and keeps
each request (with its extensions: the timeout the pipeline set) and how
often it was closed, so a test can check what reached the wire.
"""

from __future__ import annotations

import httpx

__all__ = ["RecordingTransport"]


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends with httpx's own transports; records the requests, and counts closes."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.closed = 0
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self.closed += 1
        self._sync.close()

    async def aclose(self) -> None:
        self.closed += 1
        await self._async.aclose()
