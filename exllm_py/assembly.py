"""From a stream's chunks to the whole answer, and back.

A caller who streams still wants the final :class:`~exllm_py.types.LLMResponse`
(text, tool calls with their whole arguments, usage, finish reason, cost)::

    assembler = exllm_py.StreamAssembler()
    for chunk in exllm_py.stream("openai", messages):
        print(assembler.add(chunk).content, end="")
    response = assembler.response()

or, when nothing needs showing as it arrives,
``exllm_py.assemble(exllm_py.stream(...))``. How chunks combine:

- ``content`` and ``reasoning`` are the chunks' deltas joined in order;
- tool calls are grouped by ``ToolCallDelta.index``: the first ``id`` and
  ``name`` seen win, argument fragments are joined and decoded as JSON;
- ``usage`` is the last one a chunk reported (providers report running
  totals), ``finish_reason`` the last one set;
- ``id`` and ``provider`` come from the first chunk naming them, ``model``
  from the last;
- ``metadata`` is ``from_cache`` plus what the chunks' metadata added
  (``native_finish_reason`` on the finishing chunk); ``raw`` is the list of
  the chunks' payloads; ``cost`` is priced from the usage, ``0.0`` for a
  stream served from a cache.

:func:`chunks_of` goes the other way: a stored response re-emitted as a
short stream whose assembly gives the response back (``raw`` aside).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from exllm_py.providers.pricing import cost_of
from exllm_py.providers.wire import decode_arguments
from exllm_py.types import LLMResponse, StreamChunk, ToolCall, ToolCallDelta, Usage

__all__ = ["StreamAssembler", "assemble", "chunks_of"]


class _PendingCall:
    """The pieces of one tool call gathered so far."""

    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []

    def add(self, delta: ToolCallDelta) -> None:
        if self.id is None:
            self.id = delta.id
        if self.name is None:
            self.name = delta.name
        if delta.arguments:
            self.arguments.append(delta.arguments)

    def tool_call(self) -> ToolCall:
        return ToolCall(
            id=self.id or "",
            name=self.name or "",
            arguments=decode_arguments("".join(self.arguments)),
        )


class StreamAssembler:
    """Accumulates the chunks of one stream; :meth:`response` is the answer so far."""

    __slots__ = (
        "_calls",
        "_content",
        "_finish_reason",
        "_id",
        "_metadata",
        "_model",
        "_provider",
        "_raw",
        "_reasoning",
        "_usage",
    )

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _PendingCall] = {}
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._id: str | None = None
        self._model: str | None = None
        self._provider: str | None = None
        self._metadata: dict[str, Any] = {"from_cache": False}
        self._raw: list[Any] = []

    def add(self, chunk: StreamChunk) -> StreamChunk:
        """Take ``chunk`` into the answer and hand it back, to pass it on in one expression."""
        if chunk.content:
            self._content.append(chunk.content)
        if chunk.reasoning:
            self._reasoning.append(chunk.reasoning)
        for delta in chunk.tool_calls:
            self._calls.setdefault(delta.index, _PendingCall()).add(delta)
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.finish_reason is not None:
            self._finish_reason = chunk.finish_reason
        if self._id is None:
            self._id = chunk.id
        if self._provider is None:
            self._provider = chunk.provider
        if chunk.model:
            self._model = chunk.model
        self._metadata.update(chunk.metadata)
        if chunk.raw is not None:
            self._raw.append(chunk.raw)
        return chunk

    def response(self) -> LLMResponse:
        """The answer the chunks added so far make up."""
        usage = self._usage or Usage()
        model = self._model or ""
        cost = cost_of(model, usage)
        if cost is not None and self._metadata.get("from_cache"):
            cost = 0.0  # a stream served from a cache cost nothing this time
        return LLMResponse(
            content="".join(self._content),
            model=model,
            provider=self._provider or "",
            id=self._id,
            finish_reason=self._finish_reason,
            tool_calls=tuple(self._calls[index].tool_call() for index in sorted(self._calls)),
            usage=usage,
            reasoning="".join(self._reasoning),
            cost=cost,
            metadata=dict(self._metadata),
            raw=self._raw or None,
        )


def assemble(chunks: Iterable[StreamChunk]) -> LLMResponse:
    """The whole answer of a stream, from its chunks (read to the end)."""
    assembler = StreamAssembler()
    for chunk in chunks:
        assembler.add(chunk)
    return assembler.response()


def chunks_of(
    response: LLMResponse, metadata: Mapping[str, Any] | None = None
) -> tuple[StreamChunk, ...]:
    """``response`` as a stream: reasoning, text, one chunk per tool call, then the finish.

    Every chunk carries ``metadata`` (default: the response's ``from_cache``);
    the finishing chunk adds the response's ``native_finish_reason`` and its
    usage. Assembling the chunks gives ``response`` back, but for ``raw``
    (the chunks carry none).
    """
    shared = dict(metadata) if metadata is not None else {}
    shared.setdefault("from_cache", bool(response.metadata.get("from_cache", False)))

    def piece(**fields: Any) -> StreamChunk:
        fields.setdefault("metadata", shared)
        return StreamChunk(
            id=response.id, model=response.model, provider=response.provider, **fields
        )

    chunks = []
    if response.reasoning:
        chunks.append(piece(reasoning=response.reasoning))
    if response.content:
        chunks.append(piece(content=response.content))
    for index, call in enumerate(response.tool_calls):
        arguments = orjson.dumps(dict(call.arguments)).decode()
        delta = ToolCallDelta(index=index, id=call.id, name=call.name, arguments=arguments)
        chunks.append(piece(tool_calls=(delta,)))
    final = dict(shared)
    native = response.metadata.get("native_finish_reason")
    if native is not None:
        final["native_finish_reason"] = native
    chunks.append(piece(finish_reason=response.finish_reason, usage=response.usage, metadata=final))
    return tuple(chunks)
