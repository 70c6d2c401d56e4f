"""A span per call through the cache, built from its telemetry event after the fact.

The telemetry bus reports events, not the start and end of a call. Each
event that closes a call says how long it took, and is emitted in the
caller's thread or task, at the call's end. So a span can be made when the
event arrives, with explicit times: it ends now and starts the event's
duration earlier. The caller's current span is its parent, as if the span
had been open all along, and neither the pipeline nor the cache has to
know that spans exist.

- a hit (``("exllm", "cache", "hit")``, ``duration_ns``): ``cache.hit``
  true, kind ``INTERNAL`` (served in-process, as the GenAI conventions say
  of models run in the same process);
- a provider call whose answer was stored (``("exllm", "cache", "put")``,
  ``compute_ns``): ``cache.hit`` false, kind ``CLIENT``. It ends once the
  answer is stored, so it is longer than the call by the store's write.

A call that fails, or whose answer is not stored (empty, ``cache=False``,
a stream from the provider, whose duration is its reader's), closes with
no event that gives its duration, and has no span.

Spans are named and labelled as the GenAI conventions name chat spans:
``"chat {model}"``, with ``gen_ai.operation.name``, ``gen_ai.system``,
``gen_ai.provider.name`` and ``gen_ai.request.model``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind, Tracer

from exllm_py.metrics.otel_semconv import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_REQUEST_MODEL,
    OPERATION_CHAT,
    provider_attributes,
)

__all__ = ["CACHE_HIT", "CallSpans"]

#: The span attribute that says whether the cache answered the call.
CACHE_HIT = "cache.hit"


class CallSpans:
    """Makes the spans of calls through the cache with ``tracer``."""

    __slots__ = ("tracer",)

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __repr__(self) -> str:
        return f"<CallSpans {self.tracer!r}>"

    def hit(self, metadata: Mapping[str, Any], duration_ns: int) -> None:
        """The span of a call the cache answered in ``duration_ns``."""
        self._span(metadata, duration_ns, hit=True)

    def provider_call(self, metadata: Mapping[str, Any], duration_ns: int) -> None:
        """The span of a call the provider answered in ``duration_ns``."""
        self._span(metadata, duration_ns, hit=False)

    def _span(self, metadata: Mapping[str, Any], duration_ns: int, *, hit: bool) -> None:
        end = time.time_ns()
        model = str(metadata.get("model") or "")
        attributes: dict[str, Any] = {
            GEN_AI_OPERATION_NAME: OPERATION_CHAT,
            **provider_attributes(str(metadata.get("provider") or "")),
            GEN_AI_REQUEST_MODEL: model,
            CACHE_HIT: hit,
        }
        span = self.tracer.start_span(
            f"{OPERATION_CHAT} {model}".rstrip(),
            kind=SpanKind.INTERNAL if hit else SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - duration_ns,
        )
        span.end(end_time=end)
