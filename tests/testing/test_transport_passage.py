"""Tests for exllm_py.testing.transport: what of a response reaches the caller, live or replayed.

The recording transports sit between an httpx client and a real network
transport talking to the loopback provider server, so the responses here
carry what a real connection gives them.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from exllm_py.testing.strategy import active_cassette, use_cassette
from exllm_py.testing.transport import AsyncRecordingTransport, RecordingTransport
from tests.fakes import (
    ProviderServer,
    json_reply,
    openai_completion,
    openai_stream_events,
    sse_reply,
)

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Capital of France?"}]}
STREAM_BODY = {**BODY, "stream": True}
REQUEST_ID = "req-passage-0001"


class _Unreachable(httpx.BaseTransport):
    """A network that fails the test if a replay reaches it."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the network was touched: {request.method} {request.url}")


def _completions(server: ProviderServer) -> str:
    return f"{server.url}/chat/completions"


def _live_then_replayed(
    server: ProviderServer, directory: Path, body: object
) -> tuple[httpx.Response, httpx.Response]:
    """One POST recorded from the server, then the same POST replayed with no network."""
    path = directory / "passage.json"
    with use_cassette(path, mode="once"):
        transport = RecordingTransport(httpx.HTTPTransport(), active_cassette)
        with httpx.Client(transport=transport) as client:
            live = client.post(_completions(server), json=body)
    with use_cassette(path, mode="none"):
        transport = RecordingTransport(_Unreachable(), active_cassette)
        with httpx.Client(transport=transport) as client:
            replayed = client.post(_completions(server), json=body)
    return live, replayed


class TestReplayedHeaders:
    """A replayed response carries the recorded headers, and a length matching its body."""

    def test_the_recorded_headers_come_back(
        self, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        provider_server.enqueue(
            json_reply(openai_completion("Paris."), headers={"x-request-id": REQUEST_ID})
        )
        live, replayed = _live_then_replayed(provider_server, tmp_path, BODY)
        # The cassette keeps a JSON body as a document: the same value, maybe not the same bytes.
        assert replayed.json() == live.json()
        names = ("content-type", "x-request-id", "content-length")
        assert {name: replayed.headers.get(name) for name in names} == {
            "content-type": "application/json",
            "x-request-id": REQUEST_ID,
            "content-length": str(len(replayed.content)),
        }

    def test_a_replayed_stream_has_no_length_as_the_live_one(
        self, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        """A stream is framed by its events, so its replay, like the live one, has no length."""
        provider_server.enqueue(sse_reply(openai_stream_events("Paris.")))
        live, replayed = _live_then_replayed(provider_server, tmp_path, STREAM_BODY)
        assert replayed.text == live.text
        assert replayed.headers.get("content-type") == "text/event-stream"
        lengths = (live.headers.get("content-length"), replayed.headers.get("content-length"))
        assert lengths == (None, None)


class TestRecordedConnection:
    """While recording, the caller's response keeps the connection's extensions, as live."""

    def test_the_peer_and_http_version_reach_the_caller(
        self, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        with use_cassette(tmp_path / "passage.json", mode="once") as cassette:
            transport = RecordingTransport(httpx.HTTPTransport(), active_cassette)
            with (
                httpx.Client(transport=transport) as client,
                client.stream("POST", _completions(provider_server), json=BODY) as response,
            ):
                peer = response.extensions["network_stream"].get_extra_info("server_addr")
                response.read()
        assert cassette.recorded, "the exchange was recorded, not passed through"
        assert peer == ("127.0.0.1", provider_server.port)
        assert response.http_version == "HTTP/1.1"

    async def test_the_async_twin_keeps_them_too(
        self, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        with use_cassette(tmp_path / "passage.json", mode="once") as cassette:
            transport = AsyncRecordingTransport(httpx.AsyncHTTPTransport(), active_cassette)
            async with (
                httpx.AsyncClient(transport=transport) as client,
                client.stream("POST", _completions(provider_server), json=BODY) as response,
            ):
                peer = response.extensions["network_stream"].get_extra_info("server_addr")
                await response.aread()
        assert cassette.recorded, "the exchange was recorded, not passed through"
        assert peer == ("127.0.0.1", provider_server.port)
        assert response.http_version == "HTTP/1.1"
