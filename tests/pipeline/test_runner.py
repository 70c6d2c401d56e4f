"""Tests for exllm_py.pipeline.runner: a pipeline runs its steps in order, in all four shells.

A pipeline built here from the default steps plus plugs of the test's own
(``Client(pipeline=...)`` is public) shows which stages ran: the ones before
the cache step on every call, the rest only when the cache misses. Calls
cross a real socket to the loopback provider server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from exllm_py import Client, LLMResponse
from exllm_py.cache.production import ProductionStrategy
from exllm_py.pipeline import DEFAULT_PIPELINE, Call, Pipeline
from exllm_py.pipeline.build import BuildRequest
from exllm_py.pipeline.configuration import FetchConfiguration
from exllm_py.pipeline.parse import ParseResponse, TrackCost
from exllm_py.pipeline.plug import CACHE, EXECUTE, Halt, Marker, Plug
from exllm_py.pipeline.validate import (
    ValidateMessages,
    ValidateOptions,
    ValidateOptionValues,
    ValidateProvider,
)
from tests.fakes import DEFAULT_TEXT, ProviderServer, provider_server

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]
CANNED = LLMResponse(content="from a plug", model="canned", provider="openai")


class Trace:
    """A plug that notes its name in a shared list each time it runs."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name = name
        self.seen = seen

    def __call__(self, call: Call) -> Halt | None:
        self.seen.append(self.name)
        return None


class Answer:
    """A plug that ends the call with a canned response."""

    def __call__(self, call: Call) -> Halt | None:
        return Halt(CANNED)


def _around(
    steps: Sequence[Plug | Marker], marker: Marker, before: Plug, after: Plug
) -> list[Plug | Marker]:
    at = steps.index(marker)
    return [*steps[:at], before, marker, *steps[at + 1 :], after]


def fresh_steps() -> list[Plug | Marker]:
    """The default pipeline's steps, each plug a new instance (as a custom pipeline has)."""
    return [
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


def traced(seen: list[str]) -> Pipeline:
    """The default steps with a tracer before the cache step, one before EXECUTE, one last."""
    steps = fresh_steps()
    steps.insert(steps.index(CACHE), Trace("before cache", seen))
    steps.insert(steps.index(EXECUTE), Trace("before execute", seen))
    steps.append(Trace("last", seen))
    return Pipeline(steps)


@pytest.fixture
def seen() -> list[str]:
    return []


@pytest.fixture
def client(seen: list[str], provider_server: ProviderServer) -> Iterator[Client]:
    with Client(
        cache_strategy=ProductionStrategy(), pipeline=traced(seen), env={"OPENAI_API_KEY": "k"}
    ) as client:
        yield client


def _chat(client: Client, server: ProviderServer) -> LLMResponse:
    return client.chat("openai", USER, base_url=server.url)


class TestBuilding:
    """A pipeline is a sequence of plugs and markers, and cannot do without EXECUTE."""

    def test_a_pipeline_without_execute_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"^a pipeline needs the EXECUTE step$"):
            Pipeline([step for step in fresh_steps() if step is not EXECUTE])

    def test_the_default_pipeline_runs_the_documented_steps_in_order(self) -> None:
        def kind(step: Plug | Marker) -> object:
            return step if isinstance(step, Marker) else type(step)

        assert [kind(step) for step in DEFAULT_PIPELINE.steps] == [
            kind(step) for step in fresh_steps()
        ]

    def test_the_steps_are_kept_in_order(self, seen: list[str]) -> None:
        steps = [Trace("one", seen), EXECUTE, Trace("two", seen)]
        assert Pipeline(steps).steps == tuple(steps)


class TestStages:
    """The steps before the cache run on every call; the rest only when the cache misses."""

    def test_a_miss_runs_every_stage_and_a_hit_only_the_first(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        assert _chat(client, provider_server).content == DEFAULT_TEXT
        assert seen == ["before cache", "before execute", "last"]
        seen.clear()
        assert _chat(client, provider_server).metadata["from_cache"] is True
        assert seen == ["before cache"]
        assert len(provider_server.requests) == 1

    async def test_async_calls_run_the_same_stages(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        response = await client.achat("openai", USER, base_url=provider_server.url)
        assert response.content == DEFAULT_TEXT
        assert seen == ["before cache", "before execute", "last"]
        seen.clear()
        again = await client.achat("openai", USER, base_url=provider_server.url)
        assert again.metadata["from_cache"] is True
        assert seen == ["before cache"]

    def test_with_the_cache_off_every_stage_runs_each_time(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        for _ in range(2):
            client.chat("openai", USER, base_url=provider_server.url, cache=False)
        assert seen == ["before cache", "before execute", "last"] * 2
        assert len(provider_server.requests) == 2

    def test_a_pipeline_without_a_cache_step_never_consults_the_strategy(
        self, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        steps = [step for step in fresh_steps() if step is not CACHE]
        strategy = ProductionStrategy()
        with Client(
            cache_strategy=strategy, pipeline=Pipeline(steps), env={"OPENAI_API_KEY": "k"}
        ) as client:
            for _ in range(2):
                assert _chat(client, provider_server).metadata["from_cache"] is False
        assert len(provider_server.requests) == 2
        assert strategy.stats().entries == 0


class TestStreams:
    """A stream runs the steps before EXECUTE up front, and none of those after it."""

    def test_a_stream_runs_the_pure_steps_before_iterating(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        chunks = client.stream("openai", USER, base_url=provider_server.url)
        assert seen == ["before cache", "before execute"]
        assert provider_server.requests == []
        assert "".join(chunk.content for chunk in chunks) == DEFAULT_TEXT
        assert seen == ["before cache", "before execute"]

    async def test_an_async_stream_does_the_same(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        chunks = client.astream("openai", USER, base_url=provider_server.url)
        assert seen == ["before cache", "before execute"]
        assert "".join([chunk.content async for chunk in chunks]) == DEFAULT_TEXT
        assert seen == ["before cache", "before execute"]
        assert len(provider_server.requests) == 1


class TestStreamsFromTheCache:
    """A stream served from the cache skips the steps after the cache step, as a chat hit does."""

    def test_a_stream_hit_runs_only_the_first_stage(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        _chat(client, provider_server)
        seen.clear()
        chunks = list(client.stream("openai", USER, base_url=provider_server.url))
        assert "".join(chunk.content for chunk in chunks) == DEFAULT_TEXT
        assert seen == ["before cache"]
        assert len(provider_server.requests) == 1

    async def test_an_async_stream_hit_runs_only_the_first_stage(
        self, client: Client, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        _chat(client, provider_server)
        seen.clear()
        chunks = client.astream("openai", USER, base_url=provider_server.url)
        assert seen == ["before cache"]
        assert "".join([chunk.content async for chunk in chunks]) == DEFAULT_TEXT
        assert seen == ["before cache"]
        assert len(provider_server.requests) == 1


class TestHalting:
    """A plug that returns ``Halt`` ends the call with its response; no later step runs."""

    @pytest.mark.parametrize("marker", [CACHE, EXECUTE], ids=["before-cache", "before-execute"])
    def test_a_halt_answers_without_the_network(
        self, provider_server: ProviderServer, seen: list[str], marker: Marker
    ) -> None:
        steps = _around(fresh_steps(), marker, Answer(), Trace("after", seen))
        with Client(pipeline=Pipeline(steps), env={"OPENAI_API_KEY": "k"}) as client:
            assert _chat(client, provider_server) is CANNED
        assert seen == []
        assert provider_server.requests == []

    @pytest.mark.parametrize("marker", [CACHE, EXECUTE], ids=["before-cache", "before-execute"])
    async def test_an_async_halt_does_the_same(
        self, provider_server: ProviderServer, seen: list[str], marker: Marker
    ) -> None:
        steps = _around(fresh_steps(), marker, Answer(), Trace("after", seen))
        with Client(pipeline=Pipeline(steps), env={"OPENAI_API_KEY": "k"}) as client:
            response = await client.achat("openai", USER, base_url=provider_server.url)
        assert response is CANNED
        assert seen == []
        assert provider_server.requests == []

    def test_a_halt_after_execute_keeps_the_parsed_response_from_the_later_steps(
        self, provider_server: ProviderServer, seen: list[str]
    ) -> None:
        steps = [*fresh_steps(), Answer(), Trace("after", seen)]
        with Client(pipeline=Pipeline(steps), env={"OPENAI_API_KEY": "k"}) as client:
            assert _chat(client, provider_server) is CANNED
        assert seen == []
        assert len(provider_server.requests) == 1
