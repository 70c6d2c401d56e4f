"""The runner: walks the plug list; its sync and async shells differ only in I/O.

``run`` / ``arun`` serve ``chat`` / ``achat``; ``stream`` / ``astream``
serve the streaming calls, which skip the response cache (streams are never
cached at the response level; the test strategy records them over HTTP).
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
from exllm_py.pipeline.stream import ChunkDecoder
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

    def prepare_stream(self, call: Call) -> None:
        """Run the pure steps before the exchange, so a stream validates before iteration."""
        try:
            for step in self.steps[: self._execute_at]:
                if step is not CACHE:
                    step(call)  # type: ignore[operator]  # every other step is a Plug
        except ExLLMError as error:
            redact_error(error, call)
            raise

    def stream(self, call: Call, http: httpx.Client) -> Iterator[StreamChunk]:
        """Yield the chunks of a call that :meth:`prepare_stream` has prepared."""
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

    async def astream(self, call: Call, http: httpx.AsyncClient) -> AsyncIterator[StreamChunk]:
        """Async twin of :meth:`stream`."""
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
