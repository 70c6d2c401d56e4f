"""The httpx shells of the recording core: wrapping transports, and the step they share.

:class:`RecordingTransport` and :class:`AsyncRecordingTransport` wrap an
inner transport; :func:`handle` and :func:`ahandle` are the whole of what
they do, written once for a ``send`` callable so that the transports
patched for a ``live_api`` test (:mod:`~exllm_py.testing.interception`) run
the same step with the original method as the next hop. The decisions live
in :class:`~exllm_py.testing.core.RecordingCore`; a shell only reads the
request body, forwards, and moves the response bytes through the recorder.

Responses are decoded (``content-encoding`` removed) on their way through,
so the caller and the cassette see the same bytes, and streamed events
reach the caller as they arrive while recording. A replayed stream yields
one chunk per recorded event, so the caller sees the same event boundaries
as live.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from exllm_py.testing.core import (
    SOURCE_EXTENSION,
    AsyncRecordingChunks,
    CassetteSource,
    HostFilter,
    Passthrough,
    Recorder,
    RecordingChunks,
    RecordingCore,
    Replay,
    ReplayChunks,
    forwarding,
    is_forwarding,
    passing_through,
)

__all__ = [
    "SOURCE_EXTENSION",
    "AsyncRecordingTransport",
    "CassetteSource",
    "Recorder",
    "RecordingCore",
    "RecordingTransport",
    "ahandle",
    "handle",
    "is_forwarding",
]


def handle(
    core: RecordingCore, request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]
) -> httpx.Response:
    """Replay ``request``, or ``send`` it (recording the answer when the cassette records)."""
    request.read()
    step = core.begin(request)
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
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=_RecordingStream(step, reader.iter_bytes(), reader.close),
        extensions=response.extensions,
    )


async def ahandle(
    core: RecordingCore,
    request: httpx.Request,
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
) -> httpx.Response:
    """Async twin of :func:`handle`."""
    await request.aread()
    step = core.begin(request)
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
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=_AsyncRecordingStream(step, reader.aiter_bytes(), reader.aclose),
        extensions=response.extensions,
    )


class RecordingTransport(httpx.BaseTransport):
    """Sync shell: wraps ``transport``; ``cassette()`` names the cassette in use, if any.

    ``passthrough``, when given, names the URLs that are never recorded.
    """

    def __init__(
        self,
        transport: httpx.BaseTransport,
        cassette: CassetteSource,
        passthrough: HostFilter | None = None,
    ) -> None:
        self._transport = transport
        self._core = RecordingCore(cassette, passthrough)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return handle(self._core, request, self._transport.handle_request)

    def close(self) -> None:
        self._transport.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """Async shell of :class:`RecordingTransport`."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        cassette: CassetteSource,
        passthrough: HostFilter | None = None,
    ) -> None:
        self._transport = transport
        self._core = RecordingCore(cassette, passthrough)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await ahandle(self._core, request, self._transport.handle_async_request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _decoded(response: httpx.Response) -> httpx.Response:
    # A response over the inner stream: its iter_bytes()/aiter_bytes() undo
    # the content-encoding through httpx's public API.
    return httpx.Response(response.status_code, headers=response.headers, stream=response.stream)


def _replayed(replay: Replay) -> httpx.Response:
    return httpx.Response(
        replay.status,
        headers=replay.headers,
        stream=_ReplayStream(replay.chunks),
        extensions=replay.extensions(),
    )


# The core's body pumps, typed as httpx's streams (httpx checks the type of a
# transport's response stream).


class _RecordingStream(RecordingChunks, httpx.SyncByteStream):
    pass


class _AsyncRecordingStream(AsyncRecordingChunks, httpx.AsyncByteStream):
    pass


class _ReplayStream(ReplayChunks, httpx.SyncByteStream, httpx.AsyncByteStream):
    __slots__ = ()
