"""The offline ``mock`` provider: an httpx transport that answers like OpenAI, with no network.

The client routes requests for :data:`MOCK_BASE_URL` to :class:`MockProvider`,
so mock calls travel the whole pipeline (request building, caching, parsing)
and only the socket is missing. Answers are deterministic: the same request
gets the same body, id included, every time.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

from exllm_py.providers.wire import text_of

__all__ = ["MOCK_BASE_URL", "ContentSource", "MockProvider"]

#: The mock provider's endpoint; ``.invalid`` (RFC 2606) can never resolve.
MOCK_BASE_URL = "http://mock.exllm.invalid/v1"

#: What the mock answers: fixed text, a function of the request's messages, or ``None``
#: for the default echo (``"mock response to: <last user message>"``).
ContentSource = str | Callable[[list[dict[str, Any]]], str] | None

_ECHO_PREFIX = "mock response to: "
# Every piece of text, whitespace included, so the streamed pieces join back exactly.
_PIECES = re.compile(r"\S+\s*|\s+")


class MockProvider(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers OpenAI chat-completions requests from memory, sync and async.

    ``latency`` seconds are slept before each answer (``time.sleep`` or
    ``asyncio.sleep``); ``calls`` counts the requests served, so tests can
    tell a cache hit (no new call) from a miss. ``"stream": true`` in the
    body gets a ``text/event-stream`` answer: one chunk per word, a finish
    chunk, a usage chunk when ``stream_options.include_usage`` is set, and
    ``data: [DONE]``. Token counts are word counts.
    """

    def __init__(self, content: ContentSource = None, *, latency: float = 0.0) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency!r}")
        self.content = content
        self.latency = latency
        self.calls = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<MockProvider calls={self.calls} latency={self.latency}>"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self._count()
        if self.latency:
            time.sleep(self.latency)
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._count()
        if self.latency:
            import asyncio  # here: a process that never awaits never loads it

            await asyncio.sleep(self.latency)
        return self._answer(request)

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return _error(
                404,
                f"the mock provider answers POST {MOCK_BASE_URL}/chat/completions, "
                f"not {request.method} {request.url}",
            )
        try:
            body = orjson.loads(request.content)
        except orjson.JSONDecodeError:
            return _error(400, "the request body is not JSON")
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return _error(400, "the request body needs a non-empty 'messages' list")
        text = self._text(messages)
        completion = _Completion(
            id="chatcmpl-mock-" + hashlib.sha256(_canonical(body)).hexdigest()[:24],
            model=str(body.get("model") or "mock-1"),
            text=text,
            prompt_tokens=sum(_words(text_of(m.get("content"))) for m in messages),
            completion_tokens=_words(text),
        )
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=b"".join(completion.events(include_usage=include_usage)),
            )
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=completion.body()
        )

    def _text(self, messages: list[dict[str, Any]]) -> str:
        if isinstance(self.content, str):
            return self.content
        if self.content is not None:
            return self.content(messages)
        last_user = next(
            (m.get("content") for m in reversed(messages) if m.get("role") == "user"), ""
        )
        return _ECHO_PREFIX + text_of(last_user)


class _Completion:
    """One answer, rendered as a chat.completion body or as chat.completion.chunk events."""

    __slots__ = ("completion_tokens", "id", "model", "prompt_tokens", "text")

    def __init__(
        self, *, id: str, model: str, text: str, prompt_tokens: int, completion_tokens: int
    ) -> None:
        self.id = id
        self.model = model
        self.text = text
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": 0,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": self.usage(),
            }
        )

    def events(self, *, include_usage: bool) -> Iterator[bytes]:
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in _PIECES.findall(self.text):
            yield self._chunk({"content": piece})
        yield self._chunk({}, finish_reason="stop")
        if include_usage:
            yield self._event({**self._envelope(), "choices": [], "usage": self.usage()})
        yield b"data: [DONE]\n\n"

    def _chunk(self, delta: dict[str, str], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return self._event({**self._envelope(), "choices": [choice]})

    def _envelope(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": 0, "model": self.model}

    @staticmethod
    def _event(payload: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(payload) + b"\n\n"


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}}),
    )


def _canonical(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _words(text: str) -> int:
    return len(text.split())
