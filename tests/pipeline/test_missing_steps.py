"""A custom pipeline that leaves out a step others rely on fails, naming the step it needs.

``Client(pipeline=...)`` takes any list of plugs; a plug that finds the
call without what an earlier step fills in stops with an ``AssertionError``
whose message says which step must run first. Calls go to the loopback
provider server, which no broken pipeline reaches.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.pipeline import Pipeline
from exllm_py.pipeline.build import BuildRequest
from exllm_py.pipeline.configuration import FetchConfiguration
from exllm_py.pipeline.parse import ParseResponse, TrackCost
from exllm_py.pipeline.plug import CACHE, EXECUTE, Marker
from exllm_py.pipeline.validate import (
    ValidateProvider,
)
from tests.fakes import ProviderServer, provider_server
from tests.pipeline.test_runner import fresh_steps

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]


def _first_line(error: BaseException) -> str:
    # pytest rewrites the asserts of a package that ships a pytest plugin, and
    # adds its own explanation below the message.
    return str(error).splitlines()[0]


def without(*kinds: type | Marker) -> Pipeline:
    """The default steps minus those of ``kinds`` (plug classes, or markers)."""
    return Pipeline(
        [step for step in fresh_steps() if step not in kinds and type(step) not in kinds]
    )


def parse_too_early() -> Pipeline:
    steps = [step for step in fresh_steps() if type(step) is not ParseResponse]
    steps.insert(steps.index(EXECUTE), ParseResponse())
    return Pipeline(steps)


CASES: list[tuple[str, Callable[[], Pipeline], dict[str, str], str]] = [
    (
        "no-provider",
        lambda: without(ValidateProvider),
        {"model": "m"},
        "ValidateProvider runs first",
    ),
    ("no-provider-no-model", lambda: without(ValidateProvider), {}, "ValidateProvider runs first"),
    ("no-configuration", lambda: without(FetchConfiguration), {}, "configuration runs first"),
    (
        "no-configuration-no-cache",
        lambda: without(FetchConfiguration, CACHE),
        {},
        "FetchConfiguration runs first",
    ),
    ("no-build", lambda: without(BuildRequest), {}, "build runs first"),
    ("parse-before-execute", parse_too_early, {}, "the exchange runs first"),
    ("no-parse", lambda: without(ParseResponse), {}, "parse runs first"),
    (
        "no-parse-no-cost",
        lambda: without(ParseResponse, TrackCost),
        {},
        "the parse step sets the response",
    ),
]


class TestMissingSteps:
    """Each step's prerequisite is named exactly, in sync and async calls alike."""

    @pytest.mark.parametrize(
        ("pipeline", "options", "needed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
    )
    def test_a_call_names_the_missing_step(
        self,
        provider_server: ProviderServer,
        pipeline: Callable[[], Pipeline],
        options: dict[str, str],
        needed: str,
    ) -> None:
        with (
            Client(
                cache_strategy=NoCache(), pipeline=pipeline(), env={"OPENAI_API_KEY": "k"}
            ) as client,
            pytest.raises(AssertionError) as caught,
        ):
            client.chat("openai", USER, base_url=provider_server.url, **options)
        assert _first_line(caught.value) == needed

    @pytest.mark.parametrize(
        ("pipeline", "options", "needed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
    )
    async def test_an_async_call_names_the_missing_step(
        self,
        provider_server: ProviderServer,
        pipeline: Callable[[], Pipeline],
        options: dict[str, str],
        needed: str,
    ) -> None:
        with (
            Client(
                cache_strategy=NoCache(), pipeline=pipeline(), env={"OPENAI_API_KEY": "k"}
            ) as client,
            pytest.raises(AssertionError) as caught,
        ):
            await client.achat("openai", USER, base_url=provider_server.url, **options)
        assert _first_line(caught.value) == needed

    def test_a_stream_without_its_request_names_the_build_step(
        self, provider_server: ProviderServer
    ) -> None:
        pipeline = without(BuildRequest)
        with (
            Client(pipeline=pipeline, env={"OPENAI_API_KEY": "k"}) as client,
            pytest.raises(AssertionError) as caught,
        ):
            list(client.stream("openai", USER, base_url=provider_server.url))
        assert _first_line(caught.value) == "build runs first"

    async def test_an_async_stream_names_it_too(self, provider_server: ProviderServer) -> None:
        pipeline = without(BuildRequest)
        with (
            Client(pipeline=pipeline, env={"OPENAI_API_KEY": "k"}) as client,
            pytest.raises(AssertionError) as caught,
        ):
            async for _ in client.astream("openai", USER, base_url=provider_server.url):
                pass
        assert _first_line(caught.value) == "build runs first"
        assert provider_server.requests == []
