"""An in-memory httpx transport that answers in each provider's wire format and keeps every request.

For tests that need to see where a call goes, or how many calls reach a
provider, without any socket: pass ``AnsweringTransport()`` as a
``Client``'s ``transport`` and read :attr:`AnsweringTransport.requests`.
No request leaves the process, whatever host its URL names.
"""

from __future__ import annotations

import threading

import httpx

from tests.fakes.payloads import anthropic_message, gemini_response, openai_completion

__all__ = ["ANSWER_TEXT", "AnsweringTransport"]

#: What every answer says.
ANSWER_TEXT = "Answered in memory."


class AnsweringTransport(httpx.MockTransport):
    """Answers ``…/messages`` as Anthropic, ``…:generateContent`` as Gemini, the rest as OpenAI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[httpx.Request] = []
        super().__init__(self._answer)

    @property
    def requests(self) -> list[httpx.Request]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def urls(self) -> list[str]:
        """The URL of every request received so far, oldest first."""
        return [str(request.url) for request in self.requests]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self._requests.append(request)
        path = request.url.path
        if path.endswith("/messages"):
            return httpx.Response(200, json=anthropic_message(ANSWER_TEXT))
        if ":generateContent" in path:
            return httpx.Response(200, json=gemini_response(ANSWER_TEXT))
        return httpx.Response(200, json=openai_completion(ANSWER_TEXT))
