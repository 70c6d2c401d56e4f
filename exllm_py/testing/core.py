"""The sans-I/O recording core, shared by every recording shell (httpx, httpx2, patched).

:class:`RecordingCore` decides for each request:

- no active cassette, or a host that passes through: ``None`` (the shell
  forwards the request untouched);
- a recording matches: a :class:`Replay` (status, headers, recorded chunks
  and the :data:`~exllm_py.extensions.FROM_CACHE` metadata), which each shell
  turns into its own library's response;
- the cassette may record: a :class:`Recorder`, fed the response as it
  streams back;
- otherwise: :class:`~exllm_py.errors.RecordingNotFound` with a diff,
  before the network is touched.

It reads requests as ``httpx.Request`` values (httpx is a dependency of the
package); a shell for another library converts its requests at the edge.
The body pumps (:class:`RecordingChunks`, :class:`AsyncRecordingChunks`,
:class:`ReplayChunks`) hold the stream logic once; each library's shell only
mixes in its own byte-stream base class.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs
import httpx
import orjson

from exllm_py import telemetry
from exllm_py.errors import RecordingCorrupt, RecordingNotFound
from exllm_py.extensions import FROM_CACHE, PROVIDER
from exllm_py.providers.sse import SSEDecoder
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.cassette_file import (
    Body,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    recorded_response_headers,
)
from exllm_py.testing.files import parse_timestamp
from exllm_py.testing.matching import MatchKey, header_pairs, key_digest
from exllm_py.testing.network_block import network_allowed
from exllm_py.testing.provider_label import provider_label
from exllm_py.testing.redact import redact_headers, redact_url, request_secrets

__all__ = [
    "PASSTHROUGH",
    "SOURCE_EXTENSION",
    "AsyncRecordingChunks",
    "CassetteSource",
    "HostFilter",
    "Passthrough",
    "Recorder",
    "RecordingChunks",
    "RecordingCore",
    "Replay",
    "ReplayChunks",
    "forwarding",
    "is_decided",
    "is_forwarding",
    "passing_through",
]

#: Response extension an inner transport may set to say where its answers come from
#: (a str); it becomes the interaction's ``source``. Without it: "live API at <origin>".
SOURCE_EXTENSION = "exllm.recording_source"

#: Returns the cassette in use right now, or ``None`` outside a recording test.
CassetteSource = Callable[[], Cassette | None]

#: Whether a request to this URL passes through unrecorded (the test's own servers).
HostFilter = Callable[[httpx.URL], bool]

# Set while a request a shell records is inside the next hop, so that the
# transports patched for a live_api test (and vcrpy) can tell it is already
# recorded: a request goes through the core once, however many shells it meets.
_forwarding: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "exllm_forwarding", default=False
)
# Set while a passthrough host's request goes out: decided once, so the layers
# below forward it untouched; vcrpy still sees it (unlike a recorded request).
_passing: contextvars.ContextVar[bool] = contextvars.ContextVar("exllm_passing", default=False)

_perf_ns = time.perf_counter_ns


def is_forwarding() -> bool:
    """Whether the current request is being recorded by exllm_py on its way to the network."""
    return _forwarding.get()


@contextmanager
def passing_through() -> Iterator[None]:
    """Mark the request sent inside the block as decided: a passthrough, sent unrecorded.

    Layers below (an intercepted transport) forward it untouched, so it is
    counted once. Unlike :func:`forwarding`, it opens no way through
    ``--exllm-block-network``.
    """
    token = _passing.set(True)
    try:
        yield
    finally:
        _passing.reset(token)


def is_decided() -> bool:
    """Whether the current request was already handled by an outer recording layer."""
    return _forwarding.get() or _passing.get()


@contextmanager
def forwarding() -> Iterator[None]:
    """Mark the request sent inside the block as already being recorded.

    A request the recorder sends live is the one connection
    ``--exllm-block-network`` lets through: it opens inside this block.
    """
    token = _forwarding.set(True)
    try:
        with network_allowed():
            yield
    finally:
        _forwarding.reset(token)


class Passthrough:
    """What :meth:`RecordingCore.begin` returns for a passthrough host's request."""

    def __repr__(self) -> str:
        return "PASSTHROUGH"


#: The one :class:`Passthrough`.
PASSTHROUGH = Passthrough()


class RecordingCore:
    """Decides replay, record or pass-through for each request; no I/O."""

    def __init__(self, cassette: CassetteSource, passthrough: HostFilter | None = None) -> None:
        self._cassette = cassette
        self._passthrough = passthrough

    def begin(self, request: httpx.Request) -> Replay | Recorder | Passthrough | None:
        """The replay, a recorder for a request to forward, or a request to forward untouched.

        ``PASSTHROUGH`` for a passthrough host's request: send it inside
        :func:`passing_through`. ``None`` when no cassette is active.

        The request's body must have been read. Raises ``RecordingNotFound``
        when the cassette has no recording and may not record.
        """
        cassette = self._cassette()
        if cassette is None:
            return None
        if self._passthrough is not None and self._passthrough(request.url):
            cassette.note_live()
            return PASSTHROUGH
        started = _perf_ns()
        key = cassette.matcher.request_key(request)
        interaction = cassette.play(key) if cassette.replays else None
        if interaction is not None:
            try:
                # Matching requests share a key, so whichever request prepares
                # an interaction first, its digest is the interaction's own.
                replay = cassette.prepared(interaction, _prepare(cassette, key))
            except RecordingCorrupt as exc:
                telemetry.emit(
                    telemetry.TEST_CACHE_ERROR,
                    {},
                    {**_labels(cassette, request), "error": f"RecordingCorrupt: {exc}"},
                )
                raise
            if telemetry.wanted(telemetry.TEST_CACHE_HIT):
                _report(telemetry.TEST_CACHE_HIT, cassette, request, started)
            return replay
        if telemetry.wanted(telemetry.TEST_CACHE_MISS):
            _report(telemetry.TEST_CACHE_MISS, cassette, request, started)
        if not cassette.records:
            cassette.note_missing(key)
            message = cassette.explain_miss(key)
            telemetry.emit(
                telemetry.TEST_CACHE_ERROR,
                {},
                {**_labels(cassette, request), "error": "RecordingNotFound"},
            )
            raise RecordingNotFound(message)
        return Recorder(cassette, request)


class Recorder:
    """Records one forwarded exchange as its response body goes through.

    ``start`` takes the next hop's status, headers and extensions and
    returns the headers the caller gets; ``feed`` sees every decoded chunk;
    ``finish`` adds the interaction to the cassette. A recorder that never
    finishes records nothing. A stream's comment-only blocks (keep-alives)
    carry no event and are not kept.
    """

    def __init__(self, cassette: Cassette, request: httpx.Request) -> None:
        self._cassette = cassette
        headers = header_pairs(request.headers)
        url = str(request.url)
        # Taken before redaction, so the save can refuse a body or header that
        # echoes them: a key passed as api_key= on the call is in no variable.
        cassette.add_secrets(request_secrets(headers, url))
        self._request = RecordedRequest(
            method=request.method,
            url=redact_url(url),
            headers=tuple(redact_headers(cassette.matcher.recorded_headers(headers))),
            body=Body.from_bytes(request.content),
        )
        self._origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        # From the headers as sent: the SDK's user-agent is never recorded.
        self._provider = provider_label(url, headers, request.extensions.get(PROVIDER))
        self._status = 0
        self._headers: tuple[tuple[str, str], ...] = ()
        self._source = ""
        self._events: SSEDecoder | None = None
        self._raw_events: list[str] = []
        self._parts: list[bytes] = []
        self.finished = False

    def start(
        self, status: int, headers: list[tuple[str, str]], extensions: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        """Note status and headers (lowercase names); the headers for the caller.

        The body reaches the caller decoded, so a ``content-encoding`` and the
        length that went with it are left out of what the caller gets.
        """
        self._status = status
        self._headers = recorded_response_headers(headers)
        content_type = next((v for n, v in headers if n == "content-type"), "")
        if content_type.startswith("text/event-stream"):
            self._events = SSEDecoder()
        source = extensions.get(SOURCE_EXTENSION)
        self._source = source if isinstance(source, str) else f"live API at {self._origin}"
        if not any(name == "content-encoding" for name, _ in headers):
            return headers
        return [(n, v) for n, v in headers if n not in ("content-encoding", "content-length")]

    def feed(self, chunk: bytes) -> None:
        if self._events is not None:
            self._raw_events.extend(event.raw for event in self._events.feed(chunk))
        else:
            self._parts.append(chunk)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self._events is not None:
            self._raw_events.extend(event.raw for event in self._events.close())
            body = Body.from_events(self._raw_events)
        else:
            body = Body.from_bytes(b"".join(self._parts))
        self._cassette.add(
            Interaction(
                request=self._request,
                response=RecordedResponse(self._status, self._headers, body),
                recorded_at=self._cassette.now(),
                source=self._source,
                provider=self._provider,
            )
        )


# -- body pumps ----------------------------------------------------------------------------


class RecordingChunks:
    """Yields the decoded body to the caller, feeding each chunk to the recorder."""

    def __init__(
        self, recorder: Recorder, chunks: Iterator[bytes], close: Callable[[], None]
    ) -> None:
        self._recorder = recorder
        self._chunks = chunks
        self._close = close
        self._failed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._chunks:
                self._recorder.feed(chunk)
                yield chunk
        except GeneratorExit:
            raise  # the caller stopped reading: close() records the rest
        except BaseException:
            self._failed = True  # a broken exchange is not recorded
            raise
        self._recorder.finish()

    def close(self) -> None:
        try:
            if not (self._failed or self._recorder.finished):
                # The caller stopped early (a test that checks the first chunk).
                # Read the rest anyway, though it makes this close wait for the
                # live stream to end: the cassette must hold the whole answer,
                # or a later run whose test reads further would find the
                # recording cut short where this run happened to stop.
                for chunk in self._chunks:
                    self._recorder.feed(chunk)
                self._recorder.finish()
        finally:
            self._close()


class AsyncRecordingChunks:
    """Async twin of :class:`RecordingChunks`."""

    def __init__(
        self,
        recorder: Recorder,
        chunks: AsyncIterator[bytes],
        aclose: Callable[[], Awaitable[None]],
    ) -> None:
        self._recorder = recorder
        self._chunks = chunks
        self._aclose = aclose
        self._failed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                self._recorder.feed(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except BaseException:
            self._failed = True
            raise
        self._recorder.finish()

    async def aclose(self) -> None:
        try:
            if not (self._failed or self._recorder.finished):
                # As in the sync twin: record the whole answer, so a later run
                # that reads further than this one replays it too.
                async for chunk in self._chunks:
                    self._recorder.feed(chunk)
                self._recorder.finish()
        finally:
            await self._aclose()


class ReplayChunks:
    """The recorded chunks, one at a time, for sync and async clients alike."""

    __slots__ = ("_chunks",)

    def __init__(self, chunks: tuple[bytes, ...]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


# -- replay --------------------------------------------------------------------------------


@attrs.frozen
class Replay:
    """What every replay of one interaction shares, built on its first replay."""

    status: int
    # Built once: httpx copies a Headers object without normalizing it again.
    headers: httpx.Headers = attrs.field(hash=False)
    #: The same headers as encoded pairs, for shells of other libraries.
    raw_headers: tuple[tuple[bytes, bytes], ...]
    chunks: tuple[bytes, ...]
    metadata: Mapping[str, Any] = attrs.field(hash=False)

    def extensions(self) -> dict[str, Any]:
        """The replayed response's extensions: a fresh copy of the hit's metadata."""
        return {FROM_CACHE: dict(self.metadata)}


def _prepare(cassette: Cassette, key: MatchKey) -> Callable[[Interaction], Replay]:
    def build(interaction: Interaction) -> Replay:
        response = interaction.response
        chunks = tuple(response.body.chunks())
        headers = response.headers
        if response.body.kind != "sse":
            headers = (*headers, ("content-length", str(sum(map(len, chunks)))))
        # What a hit carries, as production's do: the key (here the digest of
        # the request's match key, the same on every run) and when it was
        # cached (epoch seconds), plus the recording's own time and file. The
        # cost is deliberately not zeroed, as a production hit's is: the
        # replayed response is priced from its recorded usage like a live
        # one, so a test sees the same cost live and replayed.
        metadata = {
            "from_cache": True,
            "cache_key": key_digest(key),
            "cached_at": _epoch_seconds(cassette, interaction.recorded_at),
            "recorded_at": interaction.recorded_at,
            "cassette": str(cassette.path),
        }
        # As bytes: a recorded value may be any text (httpx would encode str as
        # ASCII); names were checked to be ASCII when the cassette was read.
        encoded = tuple((name.encode("ascii"), value.encode("utf-8")) for name, value in headers)
        return Replay(response.status, httpx.Headers(list(encoded)), encoded, chunks, metadata)

    return build


def _epoch_seconds(cassette: Cassette, recorded_at: str) -> float:
    try:
        return parse_timestamp(recorded_at).timestamp()
    except ValueError as exc:
        raise RecordingCorrupt(
            f"cassette {cassette.path} is not a valid exllm_py cassette: an interaction's "
            f"recorded_at {recorded_at!r} is not an ISO 8601 time like 2025-01-31T12:00:00Z; "
            "fix it by hand, or delete it and re-record (--exllm-record-mode=rewrite)"
        ) from exc


# -- telemetry -----------------------------------------------------------------------------


def _report(
    event: telemetry.Event, cassette: Cassette, request: httpx.Request, started: int
) -> None:
    telemetry.emit(event, {"duration_ns": _perf_ns() - started}, _labels(cassette, request))


def _labels(cassette: Cassette, request: httpx.Request) -> dict[str, Any]:
    return {
        "cassette": str(cassette.path),
        "test_id": cassette.test_id,
        "request": _summary(request),
    }


def _summary(request: httpx.Request) -> str:
    """Method, origin, path and model: never the query (it may hold a key) nor the prompt."""
    url = request.url
    # The port is kept: two loopback servers differ only by it.
    port = f":{url.port}" if url.port is not None else ""
    summary = f"{request.method} {url.scheme}://{url.host}{port}{url.path}"
    try:
        body = orjson.loads(request.content) if request.content else None
    except orjson.JSONDecodeError:
        body = None
    model = body.get("model") if isinstance(body, dict) else None
    return f"{summary} model={model}" if isinstance(model, str) else summary
