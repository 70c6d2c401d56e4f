"""Tests of the loopback provider server the other test suites rely on."""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes import (
    DEFAULT_TEXT,
    ProviderServer,
    RecordedRequest,
    Reply,
    SSEEvent,
    default_reply,
    disconnect_reply,
    json_reply,
    openai_error,
    sse_reply,
    text_reply,
)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: building one per request costs more than the request."""
    with httpx.Client() as client:
        yield client


class TestLifecycle:
    """The server binds a free loopback port and stops cleanly, even with open connections."""

    def test_url_is_loopback_with_a_real_port(self, provider_server: ProviderServer) -> None:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", provider_server.url)
        assert provider_server.port > 0

    def test_stop_does_not_wait_for_idle_keep_alive_connections(self) -> None:
        server = ProviderServer().start()
        client = httpx.Client()
        client.post(f"{server.url}/v1/chat/completions", json={"model": "m"})
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(timeout=5)
        client.close()
        assert not stopper.is_alive()

    def test_url_of_a_stopped_server_is_an_error(self) -> None:
        with pytest.raises(RuntimeError, match="start"):
            _ = ProviderServer().url


class TestDefaultReplies:
    """Unscripted requests get a valid canned answer in the format their path names."""

    def test_openai(self, http: httpx.Client, provider_server: ProviderServer) -> None:
        body = http.post(
            f"{provider_server.url}/v1/chat/completions", json={"model": "gpt-x", "messages": []}
        ).json()
        assert body["choices"][0]["message"]["content"] == DEFAULT_TEXT
        assert body["model"] == "gpt-x"

    def test_anthropic(self, http: httpx.Client, provider_server: ProviderServer) -> None:
        body = http.post(f"{provider_server.url}/v1/messages", json={"model": "claude-x"}).json()
        assert body["content"] == [{"type": "text", "text": DEFAULT_TEXT}]
        assert body["model"] == "claude-x"

    def test_gemini(self, http: httpx.Client, provider_server: ProviderServer) -> None:
        url = f"{provider_server.url}/v1beta/models/gemini-x:generateContent"
        body = http.post(url, json={}).json()
        assert body["candidates"][0]["content"]["parts"] == [{"text": DEFAULT_TEXT}]
        assert body["modelVersion"] == "gemini-x"

    def test_gemini_stream_without_sse_is_a_json_array(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        url = f"{provider_server.url}/models/gemini-x:streamGenerateContent"
        chunks = http.post(url, json={}).json()
        text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
        assert text == DEFAULT_TEXT

    @pytest.mark.parametrize(
        ("path", "query"),
        [
            ("/v1/chat/completions", ""),
            ("/v1/messages", ""),
            ("/models/gemini-x:streamGenerateContent", "?alt=sse"),
        ],
    )
    def test_streams_when_asked(
        self, http: httpx.Client, provider_server: ProviderServer, path: str, query: str
    ) -> None:
        body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}}
        with http.stream("POST", f"{provider_server.url}{path}{query}", json=body) as response:
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["transfer-encoding"] == "chunked"
            data = "".join(response.iter_text())
        assert data.count("data: ") >= 3

    def test_unknown_path_is_404(self, http: httpx.Client, provider_server: ProviderServer) -> None:
        response = http.get(f"{provider_server.url}/nowhere")
        assert response.status_code == 404
        assert "GET /nowhere" in response.json()["error"]["message"]

    def test_configured_default_text(self, http: httpx.Client) -> None:
        with ProviderServer(text="Bonjour") as server:
            body = http.post(f"{server.url}/v1/messages", json={}).json()
        assert body["content"][0]["text"] == "Bonjour"


class TestScripting:
    """Queued replies come first and in order, then routes (latest first), then defaults."""

    def test_queue_is_fifo_and_then_falls_back(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(
            json_reply({"n": 1}),
            json_reply(openai_error("no"), status=429, headers={"retry-after": "2"}),
        )
        url = f"{provider_server.url}/v1/chat/completions"
        first = http.post(url, json={})
        second = http.post(url, json={})
        third = http.post(url, json={"model": "m"})
        assert first.json() == {"n": 1}
        assert (second.status_code, second.headers["retry-after"]) == (429, "2")
        assert third.json()["object"] == "chat.completion"
        assert provider_server.pending == 0

    def test_routes_match_the_whole_path_latest_first(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.route("/v1/messages", json_reply({"route": "old"}))
        provider_server.route(re.compile(r"/v1/mess\w+"), json_reply({"route": "new"}))
        assert http.post(f"{provider_server.url}/v1/messages", json={}).json() == {"route": "new"}
        other = http.post(f"{provider_server.url}/v1/messages/x", json={})
        assert other.status_code == 404

    def test_responder_functions_see_the_request(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        def echo(request: RecordedRequest) -> Reply:
            return json_reply({"you_sent": request.body})

        provider_server.route("/echo", echo)
        assert http.post(f"{provider_server.url}/echo", json={"a": 1}).json() == {
            "you_sent": {"a": 1}
        }

    def test_a_failing_responder_answers_500_and_is_recorded(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        def broken(request: RecordedRequest) -> Reply:
            raise KeyError("missing")

        provider_server.enqueue(broken)
        response = http.post(f"{provider_server.url}/v1/messages", json={})
        assert response.status_code == 500
        assert isinstance(provider_server.failures[0], KeyError)

    def test_sse_events_arrive_separately_and_in_order(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        events = [SSEEvent({"i": i}, event="tick") for i in range(3)] + [SSEEvent("[DONE]")]
        provider_server.enqueue(sse_reply(events))
        with http.stream("POST", f"{provider_server.url}/x") as response:
            received = list(response.iter_raw())
        assert b"".join(received) == b"".join(e.encode() for e in events)

    def test_text_reply(self, http: httpx.Client, provider_server: ProviderServer) -> None:
        provider_server.enqueue(text_reply("<html>oops</html>", status=502))
        response = http.get(provider_server.url)
        assert (response.status_code, response.text) == (502, "<html>oops</html>")

    def test_disconnect_reply_breaks_the_connection(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(disconnect_reply())
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(f"{provider_server.url}/v1/chat/completions", json={})

    def test_latency_delays_the_answer_past_a_client_timeout(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply({}, latency=0.5))
        with pytest.raises(httpx.ReadTimeout):
            http.post(f"{provider_server.url}/x", json={}, timeout=0.05)

    def test_reset_forgets_everything(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply({}))
        provider_server.route("/x", json_reply({}))
        http.get(f"{provider_server.url}/y")
        provider_server.reset()
        assert (provider_server.pending, provider_server.requests) == (0, [])
        assert http.get(f"{provider_server.url}/x").status_code == 404


class TestRecording:
    """Every request is recorded: method, path, query, lowercased headers, decoded body."""

    def test_request_is_recorded(self, http: httpx.Client, provider_server: ProviderServer) -> None:
        http.post(
            f"{provider_server.url}/v1beta/models/g:streamGenerateContent?alt=sse",
            json={"contents": []},
            headers={"X-Goog-Api-Key": "k"},
        )
        request = provider_server.last_request
        assert request.method == "POST"
        assert request.path == "/v1beta/models/g:streamGenerateContent"
        assert request.query == {"alt": "sse"}
        assert request.target == "/v1beta/models/g:streamGenerateContent?alt=sse"
        assert request.headers["x-goog-api-key"] == "k"
        assert request.body == {"contents": []}
        assert request.content == b'{"contents":[]}'

    def test_body_that_is_not_json_is_none_with_raw_content(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        http.post(f"{provider_server.url}/x", content=b"plain")
        assert (provider_server.last_request.body, provider_server.last_request.content) == (
            None,
            b"plain",
        )

    def test_chunked_request_bodies_are_read(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        http.post(f"{provider_server.url}/x", content=iter([b'{"a":', b" 1}"]))
        assert provider_server.last_request.body == {"a": 1}

    def test_last_request_without_requests_fails(self, provider_server: ProviderServer) -> None:
        with pytest.raises(AssertionError, match="no request"):
            _ = provider_server.last_request

    def test_concurrent_requests_are_all_recorded(
        self, http: httpx.Client, provider_server: ProviderServer
    ) -> None:
        def call(i: int) -> None:
            http.post(f"{provider_server.url}/v1/chat/completions", json={"i": i})

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.body["i"] for r in provider_server.requests) == list(range(8))

    def test_default_reply_is_usable_on_its_own(self) -> None:
        request = RecordedRequest(
            method="POST", path="/v1/messages", query={}, headers={}, body={}, content=b"{}"
        )
        assert default_reply(request, "Hi").status == 200


class TestReplyBuilders:
    """Reply builders set the content type, which caller headers override whatever their case."""

    def test_caller_header_replaces_the_default_content_type(self) -> None:
        reply = json_reply({}, headers={"Content-Type": "application/problem+json"})
        assert reply.headers == {"content-type": "application/problem+json"}

    def test_sse_reply_keeps_events_in_order(self) -> None:
        events = [SSEEvent({"n": 1}), SSEEvent("[DONE]")]
        reply = sse_reply(events, headers={"X-Request-Id": "r1"})
        assert reply.events == tuple(events)
        assert reply.headers["x-request-id"] == "r1"
        assert reply.headers["content-type"] == "text/event-stream"

    def test_sse_event_encoding(self) -> None:
        assert SSEEvent({"a": 1}, event="ping").encode() == b'event: ping\ndata: {"a":1}\n\n'
        assert SSEEvent("[DONE]").encode() == b"data: [DONE]\n\n"


class TestQuietOnHangUp:
    """A client hanging up mid-request is expected in tests, and prints nothing."""

    def test_a_reset_connection_prints_no_traceback(
        self, provider_server: ProviderServer, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A connection reset while the server reads the body leaves stderr clean."""
        with socket.create_connection(("127.0.0.1", provider_server.port)) as connection:
            connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 99\r\n\r\n{")
            # Linger 0: close() sends RST, so the server's read fails with a reset.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert provider_server.wait_for_hang_up()
        assert "Traceback" not in capfd.readouterr().err
        assert provider_server.failures == []
