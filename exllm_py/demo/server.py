"""A simulated OpenAI-compatible endpoint on 127.0.0.1, with realistic latency.

It answers ``POST /v1/chat/completions`` in the OpenAI wire format, streamed
(server-sent events) when the request asks, after ``latency`` seconds, and
counts the requests it served. The demo uses it when no API key is set; the
benchmarks use it as the slow upstream.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

__all__ = ["SimulatedOpenAI"]


class SimulatedOpenAI:
    """A loopback server; use as a context manager, then point ``base_url`` at :attr:`url`."""

    def __init__(self, *, latency: float = 0.3, answer: str | None = None) -> None:
        self.latency = latency
        self.answer = answer
        self.calls = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> SimulatedOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply_to(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The answer text and usage for a request body (counts the call)."""
        with self._lock:
            self.calls += 1
        question = str(body["messages"][-1].get("content", ""))
        text = self.answer or f"(simulated) You asked: {question[:60]}"
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in body["messages"]),
            "completion_tokens": len(text.split()),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return text, usage


def _handler_for(owner: SimulatedOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the demo prints its own lines."""

        def do_POST(self) -> None:
            body = orjson.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            time.sleep(owner.latency)
            text, usage = owner.reply_to(body)
            model = body.get("model", "gpt-4o-mini")
            if body.get("stream"):
                self._stream(model, text, usage)
            else:
                self._send_json(_completion(model, text, usage))

        def _send_json(self, payload: dict[str, Any]) -> None:
            data = orjson.dumps(payload)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, model: str, text: str, usage: dict[str, int]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            words = text.split(" ")
            for index, word in enumerate(words):
                piece = word if index == len(words) - 1 else word + " "
                self._event(
                    {"model": model, "choices": [{"index": 0, "delta": {"content": piece}}]}
                )
            done = {"index": 0, "delta": {}, "finish_reason": "stop"}
            self._event({"model": model, "choices": [done], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _event(self, chunk: dict[str, Any]) -> None:
            payload = {"id": "chatcmpl-sim", "object": "chat.completion.chunk", **chunk}
            self.wfile.write(b"data: " + orjson.dumps(payload) + b"\n\n")
            self.wfile.flush()

    return Handler


def _completion(model: str, text: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-sim",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }
