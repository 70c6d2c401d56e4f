"""Requests read back into calls: the adapters' translation, undone, one module per wire format.

Given the URL and JSON body of a request this client sent (a recording),
:func:`read_request` proposes the ``chat()`` calls whose adapter sends it:
OpenAI-shaped messages and keyword options, ``model`` and ``base_url``
among them (:class:`~exllm_py.providers.reading.call_reading.CallReading`).
Where the adapter sends two spellings of a call alike (a ``system`` option
or a leading system message), each spelling is proposed, the plainest
first. Everything else has one canonical spelling: a call that spells the
same request otherwise (a one-part list for a text, other tool-call ids)
reads back under no key of its own.

A reader only proposes: the caller confirms a reading by building its
request again with the adapter and comparing it with the recording
(:mod:`exllm_py.pipeline.rehearsal` does that). A body that uses a field
or shape the adapter never produces raises
:class:`~exllm_py.providers.reading.call_reading.ForeignRequest`; a URL
that is not the format's chat endpoint,
:class:`~exllm_py.providers.reading.call_reading.ForeignEndpoint`.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from exllm_py.providers.adapter import ProviderAdapter
from exllm_py.providers.anthropic import AnthropicAdapter
from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.openai import OpenAIAdapter
from exllm_py.providers.reading.anthropic import read_messages
from exllm_py.providers.reading.call_reading import CallReading, ForeignEndpoint, ForeignRequest
from exllm_py.providers.reading.gemini import read_generate_content
from exllm_py.providers.reading.openai import read_chat_completions

__all__ = ["CallReading", "ForeignEndpoint", "ForeignRequest", "read_request"]

# Adapter class → the reader that undoes it (by class: an adapter of another
# class, a user's own, has no reader).
_READERS: Mapping[type, Callable[[str, Mapping[str, Any]], tuple[CallReading, ...]]] = {
    OpenAIAdapter: read_chat_completions,
    AnthropicAdapter: read_messages,
    GeminiAdapter: read_generate_content,
}


def read_request(adapter: ProviderAdapter, url: str, body: Any) -> tuple[CallReading, ...]:
    """The calls whose ``adapter`` POSTs ``body`` to ``url``, the plainest spelling first."""
    reader = _READERS.get(type(adapter))
    if reader is None:
        raise ForeignEndpoint(f"no reader undoes {type(adapter).__name__}'s requests")
    if not isinstance(body, Mapping):
        raise ForeignRequest(f"the body is a JSON {type(body).__name__}, not an object")
    return reader(url, body)
