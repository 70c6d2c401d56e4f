"""The runner: walks the plug list; its sync and async shells differ only in I/O.

``run`` / ``arun`` serve ``chat`` / ``achat``; ``stream`` / ``astream``
serve the streaming calls, through the strategy when it caches streams
(:func:`~exllm_py.pipeline.stream.through_cache`; the test strategy records
them over HTTP instead).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

import httpx

from exllm_py.errors import ExLLMError
from exllm_py.pipeline.build import BuildRequest
from exllm_py.pipeline.cache_lookup import derive_lookup
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.configuration import FetchConfiguration
from exllm_py.pipeline.exchange import asend, send, translated_errors
from exllm_py.pipeline.parse import ParseResponse, TrackCost
from exllm_py.pipeline.plug import CACHE, EXECUTE, Marker, Plug
from exllm_py.pipeline.redaction import redact_error
from exllm_py.pipeline.stream import (
    ChunkDecoder,
    athrough_cache,
    served_from_memory,
    through_cache,
)
from exllm_py.pipeline.validate import (
    ValidateMessages,
    ValidateOptions,
    ValidateOptionValues,
    ValidateProvider,
)
from exllm_py.types import LLMResponse, StreamChunk

__all__ = ["DEFAULT_PIPELINE", "Pipeline"]

Step = Plug | Marker


class Pipeline:
    """An ordered list of plugs, with ``CACHE`` and ``EXECUTE`` markers among them.

    The steps are grouped into stages, each a run of plugs ending at a marker
    (or at the end), so the runner's loop does no per-step marker checks.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        if EXECUTE not in steps:
            raise ValueError("a pipeline needs the EXECUTE step")
        self.steps = tuple(steps)
        self._execute_at = self.steps.index(EXECUTE)
        # Where a stream stops validating to look in the cache (nowhere: EXECUTE).
        self._cache_at = self.steps.index(CACHE) if CACHE in self.steps else self._execute_at
        stages: list[tuple[tuple[Plug, ...], Marker | None]] = []
        plugs: list[Plug] = []
        for step in self.steps:
            if isinstance(step, Marker):
                stages.append((tuple(plugs), step))
                plugs = []
            else:
                plugs.append(step)
        stages.append((tuple(plugs), None))
        self._stages = tuple(stages)

    # Every error leaving a call, here and in the cache step's callable (before
    # single-flight can hand it to another caller), loses the call's credentials.
    # A try costs nothing until something is raised.
    def run(self, call: Call, http: httpx.Client) -> LLMResponse:
        # The try is written out, not delegated to _redacted_run_from: one
        # frame less on every cache hit, whose budget is 3x a dict lookup.
        try:
            return self._run_from(0, call, http)
        except ExLLMError as error:
            redact_error(error, call)
            raise

    def _redacted_run_from(self, first: int, call: Call, http: httpx.Client) -> LLMResponse:
        try:
            return self._run_from(first, call, http)
        except ExLLMError as error:
            redact_error(error, call)
            raise

    def _run_from(self, first: int, call: Call, http: httpx.Client) -> LLMResponse:
        stages = self._stages
        for index in range(first, len(stages)):
            plugs, marker = stages[index]
            for plug in plugs:
                halt = plug(call)
                if halt is not None:
                    return halt.response
            if marker is CACHE:
                return self._fetch(index + 1, call, http)
            if marker is EXECUTE:
                call.http_response = send(http, call)
        assert call.response is not None, "the parse step sets the response"
        return call.response

    # The cache step's closure lives in its own method: in the loop above, a
    # closure would turn the locals into cells, and functools.partial costs
    # more than the lambda; both would tax every cache hit.
    def _fetch(self, rest: int, call: Call, http: httpx.Client) -> LLMResponse:
        return call.strategy.fetch(
            derive_lookup(call), lambda: self._redacted_run_from(rest, call, http)
        )

    async def arun(self, call: Call, http: httpx.AsyncClient) -> LLMResponse:
        return await self._redacted_arun_from(0, call, http)

    async def _redacted_arun_from(
        self, first: int, call: Call, http: httpx.AsyncClient
    ) -> LLMResponse:
        try:
            return await self._arun_from(first, call, http)
        except ExLLMError as error:
            redact_error(error, call)
            raise

    async def _arun_from(self, first: int, call: Call, http: httpx.AsyncClient) -> LLMResponse:
        stages = self._stages
        for index in range(first, len(stages)):
            plugs, marker = stages[index]
            for plug in plugs:
                halt = plug(call)
                if halt is not None:
                    return halt.response
            if marker is CACHE:
                return await self._afetch(index + 1, call, http)
            if marker is EXECUTE:
                call.http_response = await asend(http, call)
        assert call.response is not None, "the parse step sets the response"
        return call.response

    async def _afetch(self, rest: int, call: Call, http: httpx.AsyncClient) -> LLMResponse:
        return await call.strategy.afetch(
            derive_lookup(call), lambda: self._redacted_arun_from(rest, call, http)
        )

    def prepare_stream(self, call: Call) -> AsyncIterator[StreamChunk] | None:
        """Run the pure steps before the exchange, so an async stream validates before iteration.

        Returns the chunks instead when the strategy holds them in memory (it
        can tell without I/O): as for ``chat()``, a hit skips the steps after
        the cache step. ``None`` otherwise: :meth:`astream` gives the chunks.
        """
        cache_at = self._cache_at
        self._prepare(call, 0, cache_at)
        served = served_from_memory(call) if cache_at < self._execute_at else None
        if served is None:
            self._prepare(call, cache_at, self._execute_at)
        return served

    def _prepare(self, call: Call, first: int, end: int) -> None:
        try:
            for step in self.steps[first:end]:
                if step is not CACHE:
                    step(call)  # type: ignore[operator]  # every other step is a Plug
        except ExLLMError as error:
            redact_error(error, call)
            raise

    def stream(self, call: Call, http: httpx.Client) -> Iterator[StreamChunk]:
        """Validate ``call`` and return its chunks, through the cache when it serves streams.

        As for ``chat()``, a stream served from the cache skips the steps after
        the cache step (a hit proves its messages were valid); any other stream
        runs them before this returns. The provider is called on the first chunk.
        """
        cache_at = self._cache_at
        self._prepare(call, 0, cache_at)
        rest = lambda: self._prepare(call, cache_at, self._execute_at)  # noqa: E731
        return through_cache(call, lambda: self._live_stream(call, http), rest)

    def astream(self, call: Call, http: httpx.AsyncClient) -> AsyncIterator[StreamChunk]:
        """Async twin of :meth:`stream`."""
        return athrough_cache(call, lambda: self._live_astream(call, http))

    def _live_stream(self, call: Call, http: httpx.Client) -> Iterator[StreamChunk]:
        """Yield the provider's chunks for a prepared call."""
        try:
            response = send(http, call)
            decoder = ChunkDecoder(call)
            try:
                with translated_errors(call):
                    for data in response.iter_bytes():
                        yield from decoder.feed(data)
                yield from decoder.close()
            finally:
                response.close()
        except ExLLMError as error:
            redact_error(error, call)
            raise

    async def _live_astream(
        self, call: Call, http: httpx.AsyncClient
    ) -> AsyncIterator[StreamChunk]:
        """Async twin of :meth:`_live_stream`."""
        try:
            response = await asend(http, call)
            decoder = ChunkDecoder(call)
            try:
                with translated_errors(call):
                    async for data in response.aiter_bytes():
                        for chunk in decoder.feed(data):
                            yield chunk
                for chunk in decoder.close():
                    yield chunk
            finally:
                await response.aclose()
        except ExLLMError as error:
            redact_error(error, call)
            raise


DEFAULT_PIPELINE = Pipeline(
    [
        ValidateProvider(),
        ValidateOptions(),
        FetchConfiguration(),
        CACHE,
        ValidateMessages(),
        ValidateOptionValues(),
        BuildRequest(),
        EXECUTE,
        ParseResponse(),
        TrackCost(),
    ]
)
