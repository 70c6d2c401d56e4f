"""The provider adapter protocol: one wire format, translated both ways.

An adapter is pure (sans-I/O): it turns a :class:`~exllm_py.request.ChatRequest`
into an :class:`httpx.Request`, and decoded response bodies and server-sent
events back into :class:`~exllm_py.types.LLMResponse` and
:class:`~exllm_py.types.StreamChunk`. Sending the request is the pipeline's
job, so one adapter serves sync and async calls, live and replayed.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.sse import ServerSentEvent
from exllm_py.request import ChatRequest
from exllm_py.types import LLMResponse, StreamChunk

__all__ = ["ProviderAdapter", "StreamReader"]


class StreamReader(Protocol):
    """Reads the events of one streamed answer, in order; one reader per stream.

    ``read`` returns the chunk an event carries, or ``None`` for events that
    carry nothing for the caller (pings, block stops). A reader keeps what
    the whole stream decides (tool-call numbering, usage reported in two
    halves, a finish reason that depends on earlier events), so it is never
    shared between streams. An error event raises
    :class:`~exllm_py.errors.ProviderError`.
    """

    def read(self, event: ServerSentEvent) -> StreamChunk | None: ...


class ProviderAdapter(Protocol):
    """Translates between exllm_py's values and one provider wire format.

    - ``build_request`` returns the request to send, headers (credentials
      included, when ``config.api_key`` is set) and JSON body complete. It
      must not do I/O.
    - ``parse_response`` receives the decoded JSON body of a 2xx response
      and returns the response without ``cost`` (the pipeline prices it).
    - ``stream_reader`` returns a fresh :class:`StreamReader` for one
      streamed answer; its chunks name ``provider`` and, until the stream
      names one, ``model``.
    - ``error_message`` extracts a human-readable message from a decoded
      error body, for :class:`~exllm_py.errors.ProviderError`.
    """

    def build_request(self, request: ChatRequest, config: ProviderConfig) -> httpx.Request: ...

    def parse_response(self, body: Any, config: ProviderConfig) -> LLMResponse: ...

    def stream_reader(self, provider: str, model: str) -> StreamReader: ...

    def error_message(self, body: Any) -> str: ...
