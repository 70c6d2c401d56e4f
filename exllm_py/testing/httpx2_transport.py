"""The httpx2 shells of the recording core, converting requests and responses at the edge.

httpx2 (what the current openai and anthropic SDKs are built on) has the
httpx API under its own classes. The core reads requests through the
attributes the two libraries share (see :func:`_as_httpx`), and
:func:`handle` and :func:`ahandle` build httpx2 responses from what it
decides; everything else is the core's.

This module imports httpx2: only :mod:`~exllm_py.testing.clients` and
:mod:`~exllm_py.testing.interception` import it, and only when httpx2 is
installed (``pip install 'exllm_py[httpx2]'``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

import httpx
import httpx2

from exllm_py.testing.core import (
    AsyncRecordingChunks,
    CassetteSource,
    HostFilter,
    Passthrough,
    RecordingChunks,
    RecordingCore,
    Replay,
    ReplayChunks,
    forwarding,
    passing_through,
)

__all__ = ["AsyncHttpx2RecordingTransport", "Httpx2RecordingTransport", "ahandle", "handle"]


def handle(
    core: RecordingCore,
    request: httpx2.Request,
    send: Callable[[httpx2.Request], httpx2.Response],
) -> httpx2.Response:
    """Replay ``request``, or ``send`` it (recording the answer when the cassette records)."""
    request.read()
    step = core.begin(_as_httpx(request))
    if step is None:
        return send(request)
    if isinstance(step, Passthrough):
        with passing_through():
            return send(request)
    if isinstance(step, Replay):
        return _replayed(step)
    with forwarding():
        response = send(request)
    headers = step.start(response.status_code, response.headers.multi_items(), response.extensions)
    reader = _decoded(response)
    return httpx2.Response(
        response.status_code,
        headers=headers,
        stream=_RecordingStream(step, reader.iter_bytes(), reader.close),
        extensions=response.extensions,
    )


async def ahandle(
    core: RecordingCore,
    request: httpx2.Request,
    send: Callable[[httpx2.Request], Awaitable[httpx2.Response]],
) -> httpx2.Response:
    """Async twin of :func:`handle`."""
    await request.aread()
    step = core.begin(_as_httpx(request))
    if step is None:
        return await send(request)
    if isinstance(step, Passthrough):
        with passing_through():
            return await send(request)
    if isinstance(step, Replay):
        return _replayed(step)
    with forwarding():
        response = await send(request)
    headers = step.start(response.status_code, response.headers.multi_items(), response.extensions)
    reader = _decoded(response)
    return httpx2.Response(
        response.status_code,
        headers=headers,
        stream=_AsyncRecordingStream(step, reader.aiter_bytes(), reader.aclose),
        extensions=response.extensions,
    )


class Httpx2RecordingTransport(httpx2.BaseTransport):
    """Sync httpx2 shell: wraps ``transport``; ``cassette()`` names the cassette in use."""

    def __init__(
        self,
        transport: httpx2.BaseTransport,
        cassette: CassetteSource,
        passthrough: HostFilter | None = None,
    ) -> None:
        self._transport = transport
        self._core = RecordingCore(cassette, passthrough)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return handle(self._core, request, self._transport.handle_request)

    def close(self) -> None:
        self._transport.close()


class AsyncHttpx2RecordingTransport(httpx2.AsyncBaseTransport):
    """Async shell of :class:`Httpx2RecordingTransport`."""

    def __init__(
        self,
        transport: httpx2.AsyncBaseTransport,
        cassette: CassetteSource,
        passthrough: HostFilter | None = None,
    ) -> None:
        self._transport = transport
        self._core = RecordingCore(cassette, passthrough)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await ahandle(self._core, request, self._transport.handle_async_request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _as_httpx(request: httpx2.Request) -> httpx.Request:
    """``request`` (its body already read) as the core reads it.

    The core reads only ``method``, ``content``, ``headers`` (``raw``,
    ``multi_items``) and ``url`` (its parts, ``params`` and ``str``), which
    httpx2 keeps name for name and value for value; the tests pin it by
    replaying with one library what the other recorded. Building an
    ``httpx.Request`` instead would parse the URL again on every replay, for
    the same values.
    """
    return cast(httpx.Request, request)


def _decoded(response: httpx2.Response) -> httpx2.Response:
    # As in the httpx shell: iter_bytes()/aiter_bytes() of a response over the
    # inner stream undo the content-encoding through httpx2's public API.
    return httpx2.Response(response.status_code, headers=response.headers, stream=response.stream)


def _replayed(replay: Replay) -> httpx2.Response:
    return httpx2.Response(
        replay.status,
        headers=list(replay.raw_headers),
        stream=_ReplayStream(replay.chunks),
        extensions=replay.extensions(),
    )


# The core's body pumps, typed as httpx2's streams (httpx2 checks the type of a
# transport's response stream).


class _RecordingStream(RecordingChunks, httpx2.SyncByteStream):
    pass


class _AsyncRecordingStream(AsyncRecordingChunks, httpx2.AsyncByteStream):
    pass


class _ReplayStream(ReplayChunks, httpx2.SyncByteStream, httpx2.AsyncByteStream):
    __slots__ = ()
