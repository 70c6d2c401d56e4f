"""Rehearsing a call: the request it would send and the key it would be cached under, no I/O.

:func:`rehearse` runs a pipeline's plugs on a call as ``chat()`` would and
stops where the request would go over the network. The key is the cache
step's own (:func:`~exllm_py.pipeline.cache_lookup.derive_lookup`, at the
point the runner derives it), the request the provider adapter's, built by
the same plugs; no strategy is consulted and nothing is sent. An answer
obtained elsewhere (a recording of that request) is then read by the plugs
after the exchange, parsed and priced as a live answer is
(:meth:`Rehearsal.answer`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import httpx

from exllm_py.cache.stats import CacheStats
from exllm_py.cache.strategy import CacheLookup
from exllm_py.pipeline.cache_lookup import derive_lookup
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.plug import CACHE, EXECUTE, Marker, Plug
from exllm_py.pipeline.runner import DEFAULT_PIPELINE, Pipeline
from exllm_py.types import LLMResponse

__all__ = ["Rehearsal", "rehearse"]


@attrs.frozen
class Rehearsal:
    """A call taken up to the exchange: its cache lookup and the request it would send."""

    lookup: CacheLookup
    request: httpx.Request = attrs.field(eq=False)
    call: Call = attrs.field(eq=False, repr=False)
    #: The plugs after the exchange, which read the answer.
    after: tuple[Plug, ...] = attrs.field(eq=False, repr=False)

    def answer(self, response: httpx.Response) -> LLMResponse:
        """The call's result for ``response`` (a 2xx answer to :attr:`request`).

        Parsed and priced by the same plugs as a live answer; errors are
        theirs (:class:`~exllm_py.errors.ProviderError` for a body the
        adapter cannot read).
        """
        call = attrs.evolve(self.call, http_response=response, response=None)
        for plug in self.after:
            halt = plug(call)
            if halt is not None:
                return halt.response
        assert call.response is not None, "the parse step sets the response"
        return call.response


def rehearse(
    provider: str,
    messages: Sequence[Any],
    options: Mapping[str, Any],
    *,
    pipeline: Pipeline = DEFAULT_PIPELINE,
    env: Mapping[str, str] | None = None,
) -> Rehearsal:
    """Run ``chat(provider, messages, **options)`` up to the exchange.

    ``env`` stands for the environment the call reads (base URL variables,
    API keys); none by default, so only ``options`` decide. Validation
    errors are raised as the call would raise them.
    """
    call = Call(provider, list(messages), dict(options), _OFFSTAGE, env or {})
    lookup: CacheLookup | None = None
    execute_at = pipeline.steps.index(EXECUTE)
    for step in pipeline.steps[:execute_at]:
        if step is CACHE:
            lookup = derive_lookup(call)  # where the runner derives it: before the later plugs
        elif not isinstance(step, Marker) and step(call) is not None:
            raise ValueError(f"{type(step).__name__} answered the call: it has nothing to send")
    if lookup is None:
        raise ValueError("the pipeline has no CACHE step before EXECUTE: the call has no key")
    assert call.http_request is not None, "the build step sets the request"
    after = pipeline.steps[execute_at + 1 :]
    plugs = tuple(step for step in after if not isinstance(step, Marker))
    return Rehearsal(lookup, call.http_request, call, plugs)


class _Offstage:
    """The strategy of a rehearsed call: the plugs never consult it, and nothing else may."""

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        raise RuntimeError("a rehearsed call has no cache strategy")

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        raise RuntimeError("a rehearsed call has no cache strategy")

    def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        return transport

    def wrap_async_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return transport

    def stats(self) -> CacheStats:
        raise RuntimeError("a rehearsed call has no cache strategy")


_OFFSTAGE = _Offstage()
