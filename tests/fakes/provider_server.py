"""A real HTTP server on 127.0.0.1 that speaks the OpenAI, Anthropic and Gemini wire formats.

For tests that must cross a real socket: end-to-end calls, the record/replay
cache, timeouts and benchmarks. It runs :class:`http.server.ThreadingHTTPServer`
on an ephemeral port in a daemon thread, speaks HTTP/1.1 with keep-alive, and
sends streamed replies chunk-encoded, one flushed write per event::

    with ProviderServer() as server:
        server.enqueue(json_reply(openai_completion("Hi!"), headers={"x-request-id": "r1"}))
        exllm_py.chat("openai", messages, base_url=server.url, api_key="test-key")
        assert server.last_request.headers["authorization"] == "Bearer test-key"

How a request is answered, first match wins:

1. the oldest queued reply (:meth:`ProviderServer.enqueue`), whatever the path;
2. the most recently added route matching the path (:meth:`ProviderServer.route`);
3. the default: a valid canned answer in the format the path names
   (``…/chat/completions``, ``…/v1/messages``, ``…/models/{model}:generateContent``
   and ``:streamGenerateContent``, streamed when the request asks; the embeddings
   endpoints ``…/embeddings`` and ``…/models/{model}:batchEmbedContents``, with
   :mod:`tests.fakes.embedding_payloads`' stand-in vectors), else 404.

A reply is a :class:`Reply` (see :func:`json_reply`, :func:`sse_reply`,
:func:`text_reply`, :func:`disconnect_reply`) or a function of the
:class:`RecordedRequest` returning one. Every request is recorded in
:attr:`ProviderServer.requests`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import orjson
import pytest

from tests.fakes.embedding_payloads import gemini_embeddings, openai_embeddings
from tests.fakes.payloads import (
    SSEEvent,
    anthropic_message,
    anthropic_stream_events,
    gemini_response,
    gemini_stream_events,
    openai_completion,
    openai_error,
    openai_stream_events,
)

__all__ = [
    "DEFAULT_TEXT",
    "ProviderServer",
    "RecordedRequest",
    "Reply",
    "Responder",
    "default_reply",
    "disconnect_reply",
    "json_reply",
    "provider_server",
    "sse_reply",
    "text_reply",
]

#: What the default replies say.
DEFAULT_TEXT = "Hello from the provider server!"

_GEMINI_PATH = re.compile(r".*/models/(?P<model>[^/:]+):(?P<method>streamGenerateContent|\w+)")


@attrs.frozen
class RecordedRequest:
    """A request as it reached the server: header names lowercased, JSON body decoded."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    content: bytes = attrs.field(repr=False)

    @property
    def target(self) -> str:
        """Path and query string, as sent."""
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.path}?{query}" if query else self.path


@attrs.frozen
class Reply:
    """A scripted answer: status, headers, and a body or SSE events.

    ``latency`` is slept before the status line; ``event_delay`` between
    events; ``disconnect`` closes the connection without answering.
    """

    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    content: bytes = b""
    events: tuple[SSEEvent, ...] | None = None
    latency: float = 0.0
    event_delay: float = 0.0
    disconnect: bool = False


#: A reply, or a function of the request that returns one.
Responder = Reply | Callable[[RecordedRequest], Reply]


def json_reply(
    body: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    latency: float = 0.0,
) -> Reply:
    """A JSON answer (``application/json`` unless ``headers`` say otherwise)."""
    return Reply(
        status=status,
        headers=_headers({"content-type": "application/json"}, headers),
        content=orjson.dumps(body),
        latency=latency,
    )


def sse_reply(
    events: Sequence[SSEEvent],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    latency: float = 0.0,
    event_delay: float = 0.0,
) -> Reply:
    """A ``text/event-stream`` answer, each event its own chunk."""
    return Reply(
        status=status,
        headers=_headers(
            {"content-type": "text/event-stream", "cache-control": "no-cache"}, headers
        ),
        events=tuple(events),
        latency=latency,
        event_delay=event_delay,
    )


def text_reply(
    text: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    latency: float = 0.0,
) -> Reply:
    """A plain-text answer (an HTML error page from a proxy, say)."""
    return Reply(
        status=status,
        headers=_headers({"content-type": "text/plain; charset=utf-8"}, headers),
        content=text.encode(),
        latency=latency,
    )


def disconnect_reply(*, latency: float = 0.0) -> Reply:
    """Close the connection without answering, after ``latency`` seconds."""
    return Reply(disconnect=True, latency=latency)


def _headers(defaults: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    # Lowercased, so a caller's "Content-Type" replaces the default instead of doubling it.
    return {**defaults, **{name.lower(): value for name, value in (extra or {}).items()}}


def default_reply(request: RecordedRequest, text: str = DEFAULT_TEXT) -> Reply:
    """A valid answer in the wire format the request's path names, or a 404."""
    body = request.body if isinstance(request.body, Mapping) else {}
    path = request.path
    if path.endswith("/chat/completions"):
        model = str(body.get("model") or "gpt-4o-mini")
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return sse_reply(openai_stream_events(text, model=model, include_usage=usage))
        return json_reply(openai_completion(text, model=model))
    if path.endswith("/messages"):
        model = str(body.get("model") or "claude-3-5-haiku-20241022")
        if body.get("stream"):
            return sse_reply(anthropic_stream_events(text, model=model))
        return json_reply(anthropic_message(text, model=model))
    gemini = _GEMINI_PATH.fullmatch(path)
    if gemini and gemini["method"] == "generateContent":
        return json_reply(gemini_response(text, model=gemini["model"]))
    if gemini and gemini["method"] == "streamGenerateContent":
        events = gemini_stream_events(text, model=gemini["model"])
        if request.query.get("alt") == "sse":
            return sse_reply(events)
        return json_reply([event.data for event in events])  # without alt=sse: one JSON array
    embedding = _embedding_reply(path, body)
    if embedding is not None:
        return embedding
    return json_reply(
        openai_error(f"the provider server has no route for {request.method} {path}"),
        status=404,
    )


def _embedding_reply(path: str, body: Mapping[str, Any]) -> Reply | None:
    if path.endswith("/embeddings"):
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or ())
        size = body.get("dimensions") or body.get("output_dimension") or 8
        model = str(body.get("model") or "text-embedding-3-small")
        return json_reply(openai_embeddings(texts, model=model, dimensions=size))
    if path.endswith(":batchEmbedContents"):
        requests = list(body.get("requests") or ())
        texts = [part["text"] for one in requests for part in one["content"]["parts"]]
        size = (requests[0].get("outputDimensionality") if requests else None) or 8
        return json_reply(gemini_embeddings(texts, dimensions=size))
    return None


class ProviderServer:
    """A loopback HTTP server answering scripted or canned provider replies.

    Use it as a context manager (or the :func:`provider_server` fixture);
    ``url`` is its base URL, to pass as ``base_url``. ``text`` is what the
    default replies say. Thread-safe: requests may arrive concurrently.
    """

    def __init__(self, *, text: str = DEFAULT_TEXT) -> None:
        self.text = text
        self._lock = threading.Lock()
        self._queue: deque[Responder] = deque()
        self._routes: list[tuple[re.Pattern[str], Responder]] = []
        self._requests: list[RecordedRequest] = []
        self._failures: list[BaseException] = []
        self._hung_up = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> ProviderServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"provider-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self._httpd is not None else "stopped"
        return f"<ProviderServer {state} requests={len(self._requests)}>"

    @property
    def port(self) -> int:
        """The bound port."""
        if self._httpd is None:
            raise RuntimeError("the provider server is not running: call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting ---------------------------------------------------------------------

    def enqueue(self, *replies: Responder) -> None:
        """Answer the next requests, in order, with ``replies`` (ahead of routes)."""
        with self._lock:
            self._queue.extend(replies)

    def route(self, path: str | re.Pattern[str], reply: Responder) -> None:
        """Answer every request whose path equals ``path`` (or fully matches the pattern)."""
        pattern = path if isinstance(path, re.Pattern) else re.compile(re.escape(path))
        with self._lock:
            self._routes.append((pattern, reply))

    def reset(self) -> None:
        """Forget queued replies, routes, recorded requests and handler failures."""
        with self._lock:
            self._queue.clear()
            self._routes.clear()
            self._requests.clear()
            self._failures.clear()

    # -- inspection --------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request; fails when none came."""
        with self._lock:
            if not self._requests:
                raise AssertionError("the provider server has received no request")
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many queued replies are still waiting for a request."""
        with self._lock:
            return len(self._queue)

    def wait_for_hang_up(self, timeout: float = 5.0) -> bool:
        """Wait until a client has hung up on this server mid-request; ``True`` if one did."""
        return self._hung_up.wait(timeout)

    @property
    def failures(self) -> list[BaseException]:
        """Exceptions raised by responder functions (each answered with a 500)."""
        with self._lock:
            return list(self._failures)

    # -- serving (called from the handler threads) -------------------------------------

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            responder = self._queue.popleft() if self._queue else self._match(request.path)
        try:
            if responder is None:
                return default_reply(request, self.text)
            return responder(request) if callable(responder) else responder
        except Exception as exc:  # a broken responder must show up in the test, not hang it
            with self._lock:
                self._failures.append(exc)
            return json_reply(
                openai_error(f"provider server responder failed: {exc!r}"), status=500
            )

    def _match(self, path: str) -> Responder | None:
        for pattern, reply in reversed(self._routes):
            if pattern.fullmatch(path):
                return reply
        return None

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections stay open until the client closes them: do not
    # wait for their threads on close (stop() shuts their sockets instead).
    block_on_close = False

    def __init__(self, owner: ProviderServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a timeout, a cancelled stream) is what many
        # tests do on purpose: not worth a traceback in their output. Anything
        # else is a bug of this server, kept for the test to see in .failures.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            self.owner._hung_up.set()
            return
        if isinstance(error, Exception):
            with self.owner._lock:
                self.owner._failures.append(error)
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = 60  # an idle keep-alive connection's thread ends after a minute

    def setup(self) -> None:
        super().setup()
        self.server.owner._opened(self.connection)

    def finish(self) -> None:
        self.server.owner._closed(self.connection)
        with contextlib.suppress(OSError):  # the peer is gone; nothing left to flush to
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests assert on .requests instead

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        content = self._read_body()
        split = urlsplit(self.path)
        try:
            body = orjson.loads(content) if content else None
        except orjson.JSONDecodeError:
            body = None
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            content=content,
        )
        reply = self.server.owner._respond(request)
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up mid-answer

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return b"".join(self._read_chunks())
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> Iterator[bytes]:
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            yield self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers

    def _send(self, reply: Reply) -> None:
        if reply.latency:
            time.sleep(reply.latency)
        if reply.disconnect:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.events is None:
            self.send_header("content-length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for index, event in enumerate(reply.events):
            if index and reply.event_delay:
                time.sleep(reply.event_delay)
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def provider_server() -> Iterator[ProviderServer]:
    """A running :class:`ProviderServer`, stopped after the test."""
    with ProviderServer() as server:
        yield server
