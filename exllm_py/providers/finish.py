"""Why a model stopped: each provider's documented finish reasons in one vocabulary.

Callers see ``stop`` (the answer is complete), ``length`` (cut by a token
limit), ``tool_calls`` (the model waits for tool results) and
``content_filter`` (withheld by the provider's filters). A value none of
these fits passes through exactly as the provider sent it: Anthropic's
``pause_turn`` asks the caller to send the turn back so the model can go on,
and folding it into ``stop`` would end a caller's loop too early. The
provider's own value is kept beside the mapped one, in
``metadata["native_finish_reason"]``.

Gemini reports a finished turn that called tools as ``STOP``; its adapter
turns that into ``tool_calls`` when the answer (or the stream, so far)
called a function, as the other providers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "ANTHROPIC_FINISH_REASONS",
    "GEMINI_FINISH_REASONS",
    "OPENAI_FINISH_REASONS",
    "chunk_metadata",
    "finish_reason",
    "response_metadata",
]

#: OpenAI chat completions and the compatible servers (Groq, Mistral,
#: OpenRouter, xAI, Ollama, LM Studio). ``function_call`` is the deprecated
#: name of ``tool_calls``; ``model_length`` is Mistral's context-window stop.
OPENAI_FINISH_REASONS: Mapping[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
    "model_length": "length",
}

#: Anthropic Messages ``stop_reason``; ``pause_turn`` is deliberately absent.
ANTHROPIC_FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

#: Gemini ``finishReason``. ``STOP`` becomes ``tool_calls`` when functions
#: were called (see the module docstring); ``MALFORMED_FUNCTION_CALL``,
#: ``OTHER`` and the like pass through.
GEMINI_FINISH_REASONS: Mapping[str, str] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}


def finish_reason(table: Mapping[str, str], native: Any) -> str | None:
    """``native`` in the common vocabulary, or unchanged when ``table`` has no row for it."""
    if native is None:
        return None
    text = str(native)
    return table.get(text, text)


def response_metadata(native: Any) -> dict[str, Any]:
    """A live response's metadata: not from a cache, and the provider's own finish reason."""
    if native is None:
        return {"from_cache": False}
    return {"from_cache": False, "native_finish_reason": str(native)}


def chunk_metadata(native: Any) -> Mapping[str, Any] | None:
    """The metadata of a stream's finishing chunk; ``None`` (the default) for any other."""
    if native is None:
        return None
    return MappingProxyType(response_metadata(native))
