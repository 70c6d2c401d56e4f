"""What a recorded response says: its text, tool calls, finish reason and usage.

``exllm-cache show`` reads each interaction's response with the provider
adapter that would read it live (:mod:`exllm_py.providers`), so what it
shows is what a replaying test gets: a JSON answer through
``parse_response``; a streamed one event by event through the adapter's
stream reader, then put together with :func:`~exllm_py.assembly.assemble`;
an error status through ``error_message``. The wire format comes from the
provider recorded with the interaction, else from the URL and headers
(:func:`~exllm_py.testing.provider_label.provider_label`).
"""

from __future__ import annotations

from typing import Any

import attrs

from exllm_py.assembly import assemble
from exllm_py.cli.summary import model_of
from exllm_py.errors import ExLLMError
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.registry import PROVIDERS
from exllm_py.providers.sse import SSEDecoder
from exllm_py.providers.wire import error_detail
from exllm_py.testing.cassette_file import Body, Interaction
from exllm_py.testing.provider_label import OPENAI_COMPATIBLE, provider_label
from exllm_py.types import LLMResponse, StreamChunk, ToolCall, Usage

__all__ = ["Answer", "read_answer"]


@attrs.frozen
class Answer:
    """One recorded response as the caller would have received it.

    ``events`` is the number of recorded server-sent events of a streamed
    answer (``None`` when not streamed); ``error`` the provider's message
    for an error status, or a stream's error event; ``unreadable`` why the
    body could not be read as an answer (an unknown wire format, an
    endpoint that is not a chat one).
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str = ""
    events: int | None = None
    error: str | None = None
    unreadable: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The answer for ``show --json``."""
        return {
            "content": self.content,
            "reasoning": self.reasoning,
            "tool_calls": [
                {"id": call.id, "name": call.name, "arguments": dict(call.arguments)}
                for call in self.tool_calls
            ],
            "finish_reason": self.finish_reason,
            "usage": None if self.usage is None else attrs.asdict(self.usage),
            "model": self.model,
            "events": self.events,
            "error": self.error,
            "unreadable": self.unreadable,
        }


def read_answer(interaction: Interaction) -> Answer:
    """The answer ``interaction``'s response holds, read by its provider's adapter."""
    response = interaction.response
    body = response.body
    events = len(body.value) if body.kind == "sse" else None
    config = _config_for(interaction)
    if response.status >= 400:
        detail = _error_text(config, body)
        return Answer(events=events, error=f"HTTP {response.status}: {detail}")
    if config is None:
        return Answer(events=events, unreadable="not a chat request of a known wire format")
    if body.kind == "sse":
        return _streamed(config, model_of(interaction), body)
    if body.kind != "json":
        return Answer(unreadable=f"a {body.kind} body, not an answer")
    try:
        return _answer(config.adapter.parse_response(body.value, config))
    except ExLLMError as exc:
        # Another endpoint of a known provider (embeddings, say): no chat answer in it.
        return Answer(unreadable=str(exc))


def _config_for(interaction: Interaction) -> ProviderConfig | None:
    request = interaction.request
    label = provider_label(request.url, request.headers, interaction.provider)
    spec = PROVIDERS.get("openai" if label == OPENAI_COMPATIBLE else label)
    if spec is None:
        return None
    return ProviderConfig(name=label, adapter=spec.adapter, base_url="", api_key=None)


def _error_text(config: ProviderConfig | None, body: Body) -> str:
    value = body.value if body.kind != "sse" else list(body.value)
    if body.kind == "base64":
        value = "(a binary body)"
    return config.adapter.error_message(value) if config is not None else error_detail(value)


def _streamed(config: ProviderConfig, model: str, body: Body) -> Answer:
    decoder = SSEDecoder()
    reader = config.adapter.stream_reader(config.name, model)
    chunks: list[StreamChunk] = []
    error = None
    try:
        for event in [*decoder.feed(body.to_bytes()), *decoder.close()]:
            chunk = reader.read(event)
            if chunk is not None:
                chunks.append(chunk)
    except ExLLMError as exc:
        # An error event mid-stream: what came before it was delivered.
        error = str(exc)
    return _answer(assemble(chunks), events=len(body.value), error=error)


def _answer(
    response: LLMResponse, *, events: int | None = None, error: str | None = None
) -> Answer:
    return Answer(
        content=response.content,
        reasoning=response.reasoning,
        tool_calls=response.tool_calls,
        finish_reason=response.finish_reason,
        usage=_reported(response.usage),
        model=response.model,
        events=events,
        error=error,
    )


def _reported(usage: Usage | None) -> Usage | None:
    # Adapters answer Usage() when the provider reported nothing: show nothing then.
    return None if usage is None or usage == Usage() else usage
