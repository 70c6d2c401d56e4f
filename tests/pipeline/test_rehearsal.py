"""Tests for exllm_py.pipeline.rehearsal: a call taken up to the exchange, without I/O.

A rehearsal is compared with the same call made for real, over a socket to
the loopback provider server, through a production cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from exllm_py import Client, LLMResponse
from exllm_py.cache import MemoryStore, ProductionStrategy
from exllm_py.cache.keys import cache_key
from exllm_py.errors import ConfigurationError, ProviderError, ValidationError
from exllm_py.pipeline import Pipeline
from exllm_py.pipeline.build import BuildRequest
from exllm_py.pipeline.configuration import FetchConfiguration
from exllm_py.pipeline.parse import ParseResponse, TrackCost
from exllm_py.pipeline.plug import CACHE, EXECUTE, Plug
from exllm_py.pipeline.rehearsal import rehearse
from exllm_py.pipeline.validate import (
    ValidateMessages,
    ValidateOptions,
    ValidateOptionValues,
    ValidateProvider,
)
from tests.fakes import (
    ProviderServer,
    anthropic_message,
    json_reply,
    openai_completion,
    provider_server,
)
from tests.pipeline.test_runner import Answer, Trace

__all__ = ["provider_server"]

KEYS = {"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test"}
USER = [{"role": "user", "content": "Which country am I in?"}]
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("openai", {"model": "gpt-4o", "temperature": 0, "system": "Be brief.", "seed": 1}),
    ("anthropic", {"model": "claude-sonnet-4-5", "stop": "END", "cache_namespace": "ns"}),
    ("gemini", {"max_tokens": 20, "cache_tags": ["t"], "cache_ttl": 60}),
]

OPENAI_ANSWER = openai_completion("Mexico.", model="gpt-4o-mini")


def _checks() -> list[Plug]:
    return [ValidateProvider(), ValidateOptions(), FetchConfiguration()]


def _pipeline(*steps: Plug) -> Pipeline:
    """The default steps up to the exchange, with ``steps`` put right before EXECUTE."""
    before = [ValidateMessages(), ValidateOptionValues(), BuildRequest(), *steps]
    return Pipeline([*_checks(), CACHE, *before, EXECUTE, ParseResponse(), TrackCost()])


@pytest.fixture
def client() -> Iterator[Client]:
    strategy = ProductionStrategy(MemoryStore())
    with Client(cache_strategy=strategy, env={**KEYS, "GEMINI_API_KEY": "g"}) as client:
        yield client


class TestTheCallsOwnKeyAndRequest:
    """A rehearsal has the key a live call is cached under and the request it sends."""

    @pytest.mark.parametrize(("provider", "options"), CALLS)
    def test_key_and_request_are_the_live_calls(
        self,
        client: Client,
        provider_server: ProviderServer,
        provider: str,
        options: dict[str, Any],
    ) -> None:
        options = {**options, "base_url": provider_server.url}
        rehearsal = rehearse(provider, USER, options)
        client.chat(provider, USER, **options)
        sent = provider_server.last_request
        assert orjson.loads(rehearsal.request.content) == sent.body
        assert rehearsal.request.url.raw_path.decode() == sent.target
        hit = client.chat(provider, USER, **options)
        assert (
            hit.metadata["cache_key"] == rehearsal.lookup.key == cache_key(provider, USER, options)
        )
        assert rehearsal.lookup.provider == provider

    def test_the_cache_controls_reach_the_lookup(self) -> None:
        rehearsal = rehearse("openai", USER, {"cache_namespace": "ns", "cache_tags": ["a", "a"]})
        assert (rehearsal.lookup.control.namespace, rehearsal.lookup.control.tags) == ("ns", ("a",))

    def test_no_credential_is_needed_nor_sent(self) -> None:
        rehearsal = rehearse("openai", USER, {})
        assert "authorization" not in rehearsal.request.headers

    def test_the_environment_given_is_the_one_read(self) -> None:
        rehearsal = rehearse("openai", USER, {}, env={"OPENAI_BASE_URL": "http://proxy.test/v1"})
        assert str(rehearsal.request.url) == "http://proxy.test/v1/chat/completions"


class TestAnswers:
    """An answer to the rehearsed request is parsed and priced as a live one."""

    def test_the_answer_is_the_live_calls(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        body = anthropic_message("Mexico.", model="claude-sonnet-4-5-20250929")
        options = {"model": "claude-sonnet-4-5", "base_url": provider_server.url}
        provider_server.enqueue(json_reply(body))
        live = client.chat("anthropic", USER, **options)
        answer = rehearse("anthropic", USER, options).answer(
            httpx.Response(200, content=orjson.dumps(body))
        )
        assert answer == live
        assert answer.cost == live.cost
        assert answer.cost is not None
        assert dict(answer.metadata) == dict(live.metadata)

    def test_only_the_steps_after_the_exchange_read_the_answer(self) -> None:
        seen: list[str] = []
        pipeline = _pipeline(Trace("before execute", seen))
        rehearsal = rehearse("openai", USER, {}, pipeline=pipeline)
        assert seen == ["before execute"]
        answer = rehearsal.answer(httpx.Response(200, content=orjson.dumps(OPENAI_ANSWER)))
        assert answer.content == "Mexico."
        assert seen == ["before execute"]

    def test_a_pipeline_without_a_parse_step_has_no_answer_to_give(self) -> None:
        pipeline = Pipeline([*_checks(), CACHE, BuildRequest(), EXECUTE])
        rehearsal = rehearse("openai", USER, {}, pipeline=pipeline)
        response = httpx.Response(200, content=orjson.dumps(OPENAI_ANSWER))
        with pytest.raises(AssertionError, match=r"^the parse step sets the response\b"):
            rehearsal.answer(response)

    def test_a_body_the_adapter_cannot_read_raises_as_live(self) -> None:
        rehearsal = rehearse("openai", USER, {})
        with pytest.raises(ProviderError, match="choices"):
            rehearsal.answer(httpx.Response(200, content=b'{"nothing": 1}'))


class TestRefusals:
    """What a call would refuse, a rehearsal refuses; a pipeline it cannot rehearse is named."""

    @pytest.mark.parametrize(
        ("provider", "options", "error"),
        [
            ("nope", {}, ConfigurationError),
            ("openai", {"temprature": 1}, ValidationError),
            ("openai", {"temperature": 9}, ValidationError),
            ("anthropic", {"n": 2}, ValidationError),
        ],
    )
    def test_invalid_calls_raise_as_they_would(
        self, provider: str, options: dict[str, Any], error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            rehearse(provider, USER, options)

    def test_a_pipeline_without_a_cache_step_has_no_key(self) -> None:
        steps = [ValidateProvider(), ValidateOptions(), FetchConfiguration(), BuildRequest()]
        with pytest.raises(
            ValueError,
            match=r"^the pipeline has no CACHE step before EXECUTE: the call has no key$",
        ):
            rehearse("openai", USER, {}, pipeline=Pipeline([*steps, EXECUTE]))

    def test_a_plug_that_answers_leaves_nothing_to_send(self) -> None:
        with pytest.raises(ValueError, match=r"^Answer answered the call: it has nothing to send$"):
            rehearse("openai", USER, {}, pipeline=_pipeline(Answer()))

    def test_a_pipeline_without_a_build_step_has_no_request(self) -> None:
        pipeline = Pipeline([*_checks(), CACHE, EXECUTE, ParseResponse()])
        with pytest.raises(AssertionError, match=r"^the build step sets the request\b"):
            rehearse("openai", USER, {}, pipeline=pipeline)


def _never_computed() -> LLMResponse:
    raise AssertionError("a rehearsed call computes nothing")


async def _never_acomputed() -> LLMResponse:
    raise AssertionError("a rehearsed call computes nothing")


class TestTheRehearsedCallsStrategy:
    """The call a rehearsal holds has no cache behind it: asking its strategy says so."""

    NONE = r"^a rehearsed call has no cache strategy$"

    def test_fetch_and_stats_are_refused(self) -> None:
        rehearsal = rehearse("openai", USER, {})
        with pytest.raises(RuntimeError, match=self.NONE):
            rehearsal.call.strategy.fetch(rehearsal.lookup, _never_computed)
        with pytest.raises(RuntimeError, match=self.NONE):
            rehearsal.call.strategy.stats()

    async def test_an_async_fetch_is_refused(self) -> None:
        rehearsal = rehearse("openai", USER, {})
        with pytest.raises(RuntimeError, match=self.NONE):
            await rehearsal.call.strategy.afetch(rehearsal.lookup, _never_acomputed)
