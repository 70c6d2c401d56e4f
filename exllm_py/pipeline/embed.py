"""The ``embed()`` pipeline: the chat pipeline's steps, with an embeddings request in the middle.

validate provider → validate texts and options → fetch configuration →
cache → build request → execute over HTTP (retries, error mapping) →
parse vectors → track cost.

Every step but three is the chat pipeline's own plug or helper; the three
are the embeddings request, its parsing (:class:`BuildEmbedRequest`,
:class:`ParseEmbedResponse`, over :mod:`exllm_py.providers.embeddings`) and
the key (:mod:`exllm_py.pipeline.embed_lookup`). The cache step is the same
strategy call as chat's, so an embedding asked twice is paid once, identical
concurrent calls share one request, and telemetry sees the hit, miss and put.
The texts travel as the call's ``messages`` and ``dimensions`` as its answer
options, so a call's labels, credentials and errors work as for chat; a list
of strings is never a chat conversation, so nothing that reads messages
(the semantic cache) mistakes one for a question.

Everything is validated before the cache step: the key covers every text.
The runner's sync and async shells differ only in I/O, as
:mod:`exllm_py.pipeline.runner`'s do; there are no streams to serve.
"""

from __future__ import annotations

import attrs
import httpx

from exllm_py.errors import ExLLMError
from exllm_py.pipeline.build import labelled
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.configuration import FetchConfiguration
from exllm_py.pipeline.embed_lookup import embed_lookup
from exllm_py.pipeline.embed_validate import ValidateEmbedding
from exllm_py.pipeline.exchange import asend, send
from exllm_py.pipeline.parse import TrackCost, as_answered, json_body
from exllm_py.pipeline.plug import Halt, Plug
from exllm_py.pipeline.redaction import redact_error
from exllm_py.pipeline.validate import ValidateProvider
from exllm_py.providers.embeddings.adapter import EmbeddingAdapter, EmbedRequest
from exllm_py.providers.embeddings.catalog import embedding_adapter
from exllm_py.providers.embeddings.response import vectors_of
from exllm_py.types import LLMResponse

__all__ = ["EMBED_PIPELINE", "BuildEmbedRequest", "EmbedPipeline", "ParseEmbedResponse"]


class BuildEmbedRequest:
    """Resolves the API key and has the embeddings adapter build the ``httpx.Request``.

    A missing key marks the request, as for chat
    (:mod:`exllm_py.pipeline.credentials`): a cached answer needs none.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        config = call.config
        assert config is not None, "FetchConfiguration runs first"
        api_key = call.credential()
        call.config = config = attrs.evolve(config, api_key=api_key)
        request = EmbedRequest(
            call.provider,
            call.model,
            tuple(call.messages),
            call.answer_options.get("dimensions"),
        )
        call.http_request = labelled(_adapter(call).build_request(request, config), config, api_key)
        return None


class ParseEmbedResponse:
    """Decodes the JSON body and lets the embeddings adapter read one vector per text.

    A response replayed by an HTTP-level cache is marked ``from_cache``.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        config, response = call.config, call.http_response
        assert config is not None, "FetchConfiguration runs first"
        assert response is not None, "the exchange runs first"
        parsed = _adapter(call).parse_response(
            json_body(config.name, response), config, len(call.messages)
        )
        call.response = as_answered(parsed, call, response)
        return None


def _adapter(call: Call) -> EmbeddingAdapter:
    adapter = embedding_adapter(call.provider)
    assert adapter is not None, "ValidateEmbedding refuses providers without embeddings"
    return adapter


class EmbedPipeline:
    """Runs ``embed()`` calls: the plugs before the cache step, then the strategy's fetch.

    Every error leaving a call, here and in the compute the strategy runs
    (before single-flight may hand it to another caller), loses the call's
    credentials, as in :class:`~exllm_py.pipeline.runner.Pipeline`.
    """

    def __init__(self) -> None:
        self._before: tuple[Plug, ...] = (
            ValidateProvider(),
            ValidateEmbedding(),
            FetchConfiguration(),
        )
        self._build = BuildEmbedRequest()
        self._after: tuple[Plug, ...] = (ParseEmbedResponse(), TrackCost())

    def run(self, call: Call, http: httpx.Client) -> list[list[float]]:
        """The vectors for a call, from the cache or the provider."""
        try:
            self._validate(call)
            response = call.strategy.fetch(embed_lookup(call), lambda: self._compute(call, http))
        except ExLLMError as error:
            redact_error(error, call)
            raise
        return vectors_of(response)

    async def arun(self, call: Call, http: httpx.AsyncClient) -> list[list[float]]:
        """Async twin of :meth:`run`."""
        try:
            self._validate(call)
            response = await call.strategy.afetch(
                embed_lookup(call), lambda: self._acompute(call, http)
            )
        except ExLLMError as error:
            redact_error(error, call)
            raise
        return vectors_of(response)

    def _validate(self, call: Call) -> None:
        for plug in self._before:
            plug(call)

    def _compute(self, call: Call, http: httpx.Client) -> LLMResponse:
        try:
            self._build(call)
            call.http_response = send(http, call)
            return self._finish(call)
        except ExLLMError as error:
            redact_error(error, call)
            raise

    async def _acompute(self, call: Call, http: httpx.AsyncClient) -> LLMResponse:
        try:
            self._build(call)
            call.http_response = await asend(http, call)
            return self._finish(call)
        except ExLLMError as error:
            redact_error(error, call)
            raise

    def _finish(self, call: Call) -> LLMResponse:
        for plug in self._after:
            plug(call)
        assert call.response is not None, "the parse step sets the response"
        return call.response


#: The pipeline every client's ``embed()`` / ``aembed()`` runs.
EMBED_PIPELINE = EmbedPipeline()
