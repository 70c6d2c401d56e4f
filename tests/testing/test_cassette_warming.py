"""Tests for exllm_py.testing.cassette_warming: a production store filled from recorded cassettes.

Calls are recorded for real, through the test cache, over loopback HTTP to
the provider server (answering with bodies the providers sent, from
``tests/providers/recorded``). The proof that a harvested key is a live
call's key is a live call: through a production strategy over the warmed
store, it must hit, with no request reaching the server.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import exllm_py
from exllm_py import telemetry
from exllm_py.cache import DiskStore, MemoryStore, ProductionStrategy, RedisStore
from exllm_py.cache.stores.base import CacheStore
from exllm_py.errors import ConfigurationError, ProviderError, ValidationError
from exllm_py.testing import http_client
from exllm_py.testing.cassette_warming import (
    CassetteWarmProgress,
    HarvestProgress,
    SkipReason,
    harvest_cassettes,
    warm_from_cassettes,
)
from exllm_py.testing.strategy import use_cassette
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock
from tests.fakes import (
    ProviderServer,
    anthropic_message,
    gemini_response,
    json_reply,
    openai_completion,
    openai_error,
)
from tests.providers.recorded_traffic import load
from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

KEYS = {
    "OPENAI_API_KEY": "sk-warm-test-0001",
    "ANTHROPIC_API_KEY": "sk-ant-warm-test-0001",
    "GEMINI_API_KEY": "gm-warm-test-0001",
    "MISTRAL_API_KEY": "ms-warm-test-0001",
}
MODULE = "tests.test_app"
QUESTION = {"role": "user", "content": "Which country am I in?"}
COUNTRY_TOOL = {
    "type": "function",
    "function": {
        "name": "get_user_country",
        "description": "The country the user is in.",
        "parameters": {"type": "object", "properties": {}},
    },
}
ANTHROPIC_CALL_ID = "toolu_01X9wcHKKAZD9tBC711xipPa"  # the id in anthropic/tool_call.json
Spelling = tuple[list[dict[str, Any]], dict[str, Any]]


@attrs.frozen
class Recorded:
    """A call to record, the body the server answers it with, and other spellings of it.

    ``spellings`` are other ``(messages, options)`` that send the very same
    request, written out here by hand from what the adapters send.
    """

    name: str
    provider: str
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    answer: Any
    spellings: tuple[Spelling, ...] = ()

    def all_spellings(self) -> list[Spelling]:
        return [(self.messages, self.options), *self.spellings]


def _without(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in options.items() if name not in names}


def _assistant_call(call_id: str) -> dict[str, Any]:
    """The assistant message that made a call, as a caller passes it back."""
    function = {"name": "get_user_country", "arguments": "{}"}
    call = {"id": call_id, "type": "function", "function": function}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


_ANTHROPIC_TOOLS = {
    "model": "claude-sonnet-4-5",
    "system": "Call a tool before answering.",
    "max_tokens": 1024,
    "temperature": 0.2,
    "tools": [COUNTRY_TOOL],
    "tool_choice": {"type": "function", "function": {"name": "get_user_country"}},
}
_SYSTEM_FIRST = {"role": "system", "content": "Call a tool before answering."}
_GEMINI_TOOLS = {
    "model": "gemini-2.0-flash",
    "top_p": 0.9,
    "stop": ["THE END"],
    "tools": [COUNTRY_TOOL],
    "tool_choice": "auto",
}
_MISTRAL = {
    "model": "mistral-large-latest",
    "system": "Answer in three words.",
    "temperature": 0.7,
    "max_tokens": 20,
}
_PROBE = {"role": "user", "content": "Probe the cache."}

CALLS = (
    Recorded(
        "openai_tools",
        "openai",
        [QUESTION],
        {"model": "gpt-4o", "temperature": 0, "seed": 11, "tools": [COUNTRY_TOOL]}
        | {"tool_choice": "required"},
        load("openai/tool_call").body,
    ),
    Recorded(
        "anthropic_tools",
        "anthropic",
        [QUESTION],
        _ANTHROPIC_TOOLS,
        load("anthropic/tool_call").body,
        spellings=(
            ([_SYSTEM_FIRST, QUESTION], _without(_ANTHROPIC_TOOLS, "system")),
            ([QUESTION], _without(_ANTHROPIC_TOOLS, "max_tokens")),
            ([_SYSTEM_FIRST, QUESTION], _without(_ANTHROPIC_TOOLS, "system", "max_tokens")),
        ),
    ),
    Recorded(
        "anthropic_tool_result",
        "anthropic",
        [
            QUESTION,
            _assistant_call(ANTHROPIC_CALL_ID),
            {"role": "tool", "tool_call_id": ANTHROPIC_CALL_ID, "content": "Mexico"},
        ],
        {"model": "claude-sonnet-4-5", "tools": [COUNTRY_TOOL]},
        anthropic_message("You are in Mexico.", model="claude-sonnet-4-5-20250929"),
        spellings=(
            (
                [
                    QUESTION,
                    _assistant_call(ANTHROPIC_CALL_ID),
                    {"role": "tool", "tool_call_id": ANTHROPIC_CALL_ID, "content": "Mexico"},
                ],
                {"model": "claude-sonnet-4-5", "tools": [COUNTRY_TOOL], "max_tokens": 1024},
            ),
        ),
    ),
    Recorded(
        "gemini_tools",
        "gemini",
        [_SYSTEM_FIRST, QUESTION],
        _GEMINI_TOOLS,
        load("gemini/tool_call").body,
        spellings=(
            ([QUESTION], _GEMINI_TOOLS | {"system": "Call a tool before answering."}),
            ([_SYSTEM_FIRST, QUESTION], _GEMINI_TOOLS | {"stop": "THE END"}),
            (
                [QUESTION],
                _GEMINI_TOOLS | {"system": "Call a tool before answering.", "stop": "THE END"},
            ),
        ),
    ),
    Recorded(
        "gemini_tool_result",
        "gemini",
        [
            QUESTION,
            _assistant_call("call_0"),
            {"role": "tool", "tool_call_id": "call_0", "content": "Mexico"},
        ],
        {"model": "gemini-2.0-flash", "tools": [COUNTRY_TOOL], "max_tokens": 200},
        gemini_response("You are in Mexico.", model="gemini-2.0-flash"),
    ),
    Recorded(
        "mistral_preset",
        "mistral",
        [_PROBE],
        _MISTRAL,
        load("mistral/cached_prompt").body,
        spellings=(
            (
                [{"role": "system", "content": "Answer in three words."}, _PROBE],
                _without(_MISTRAL, "system"),
            ),
        ),
    ),
)
ALL_SPELLINGS = sum(len(call.all_spellings()) for call in CALLS)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    return tmp_path / "cassettes"


@pytest.fixture
def recorder(make_client: Callable[..., exllm_py.Client]) -> exllm_py.Client:
    """A client whose calls go through the test cache (the active cassette), then the network."""
    return make_client(env=KEYS)


@pytest.fixture
def production() -> Iterator[Callable[[CacheStore], exllm_py.Client]]:
    """Builds live clients answering from a store through a production strategy."""
    clients: list[exllm_py.Client] = []

    def build(store: CacheStore) -> exllm_py.Client:
        client = exllm_py.Client(cache_strategy=ProductionStrategy(store), env=KEYS)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def cassette(cassettes: Path, name: str) -> Path:
    return cassettes / MODULE / f"test_{name}.json"


def record(
    recorder: exllm_py.Client, server: ProviderServer, path: Path, call: Recorded
) -> LLMResponse:
    """Record ``call`` into the cassette at ``path``; the live answer."""
    server.enqueue(json_reply(call.answer))
    with use_cassette(path, mode="once"):
        return recorder.chat(call.provider, call.messages, base_url=server.url, **call.options)


@pytest.fixture
def recorded(
    recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
) -> dict[str, LLMResponse]:
    """Every call of :data:`CALLS` recorded in its own cassette; the live answers by name."""
    return {
        call.name: record(recorder, provider_server, cassette(cassettes, call.name), call)
        for call in CALLS
    }


def edit(path: Path, change: Callable[[dict[str, Any]], None], index: int = 0) -> None:
    """Edit a cassette by hand: ``change`` gets its interaction ``index`` (the first) as JSON."""
    document = json.loads(path.read_text())
    change(document["interactions"][index])
    path.write_text(json.dumps(document, indent=2))


def record_one(
    recorder: exllm_py.Client, server: ProviderServer, cassettes: Path, name: str = "one"
) -> Path:
    """A plain OpenAI call recorded under ``name``; the cassette's path."""
    path = cassette(cassettes, name)
    server.enqueue(json_reply(openai_completion("Paris.", model="gpt-4o-mini")))
    with use_cassette(path, mode="once"):
        recorder.chat("openai", [QUESTION], base_url=server.url, temperature=0)
    return path


# -- the proof -----------------------------------------------------------------------------


@pytest.mark.usefixtures("recorded")
class TestWarmedKeysAreLiveKeys:
    """Every warmed entry is hit by a live call spelled as recorded, or in an equivalent way."""

    def test_every_spelling_of_every_recorded_call_hits_without_a_request(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
    ) -> None:
        store = MemoryStore()
        report = warm_from_cassettes(store, cassettes)
        harvested = {item.key for item in harvest_cassettes(cassettes).entries}
        requests_before = len(provider_server.requests)
        client = production(store)
        hit_keys = set()
        for call in CALLS:
            for messages, options in call.all_spellings():
                hit = client.chat(call.provider, messages, base_url=provider_server.url, **options)
                assert hit.metadata["from_cache"] is True, (call.name, messages, options)
                hit_keys.add(hit.metadata["cache_key"])
        assert len(provider_server.requests) == requests_before
        assert hit_keys == harvested
        assert report.stored == len(harvested) == ALL_SPELLINGS
        assert report.harvested == report.interactions == len(CALLS)
        assert report.skipped == {}

    def test_a_hit_is_the_recorded_answer_with_its_saved_cost(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
        recorded: dict[str, LLMResponse],
    ) -> None:
        store = MemoryStore()
        warm_from_cassettes(store, cassettes)
        client = production(store)
        for call in CALLS:
            live = recorded[call.name]
            hit = client.chat(
                call.provider, call.messages, base_url=provider_server.url, **call.options
            )
            assert hit == live
            assert hit.tool_calls == live.tool_calls
            assert hit.metadata["saved_cost"] == live.cost
            assert hit.cost == (None if live.cost is None else 0.0)
        priced = [name for name, live in recorded.items() if live.cost is not None]
        assert len(priced) == len(CALLS)  # the pricing table knows every recorded model

    def test_an_async_call_hits_too(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
    ) -> None:
        store = MemoryStore()
        warm_from_cassettes(store, cassettes)
        client = production(store)
        call = CALLS[1]
        requests_before = len(provider_server.requests)

        async def ask() -> LLMResponse:
            return await client.achat(
                call.provider, call.messages, base_url=provider_server.url, **call.options
            )

        assert asyncio.run(ask()).metadata["from_cache"] is True
        assert len(provider_server.requests) == requests_before

    def test_a_warmed_entry_is_the_entry_a_live_call_stores(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
    ) -> None:
        clock = FakeClock()
        warmed, live = MemoryStore(clock=clock), MemoryStore(clock=clock)
        warm_from_cassettes(warmed, cassettes)
        client = production(live)
        for call in CALLS:
            provider_server.enqueue(json_reply(call.answer))
            answer = client.chat(
                call.provider, call.messages, base_url=provider_server.url, **call.options
            )
            assert answer.metadata["from_cache"] is False
            key = client.chat(
                call.provider, call.messages, base_url=provider_server.url, **call.options
            ).metadata["cache_key"]
            stored, expected = warmed.get(key), live.get(key)
            assert stored is not None
            assert expected is not None
            assert stored.labels == expected.labels
            assert stored.response == expected.response
            assert dict(stored.response.metadata) == dict(expected.response.metadata)
            assert (stored.stored_at, stored.expires_at) == (
                expected.stored_at,
                expected.expires_at,
            )


# -- what is skipped -----------------------------------------------------------------------


class TestSkippedInteractions:
    """Interactions a live call would not cache, or whose key is unproven, are skipped, counted."""

    def test_a_streamed_call_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        with use_cassette(cassette(cassettes, "streamed"), mode="once"):
            chunks = list(recorder.stream("openai", [QUESTION], base_url=provider_server.url))
        assert chunks
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.STREAMED.value: 1}
        assert harvest.entries == ()

    @pytest.mark.parametrize(
        ("call", "change"),
        [
            (
                CALLS[0],
                lambda item: item["response"].update(
                    sse=[f"data: {json.dumps(item['response'].pop('json'))}"]
                ),
            ),
            (
                CALLS[0],
                lambda item: item["response"]["headers"].update(
                    {"content-type": "text/event-stream; charset=utf-8"}
                ),
            ),
            (CALLS[0], lambda item: item["request"]["json"].update(stream=True)),
            (
                CALLS[4],
                lambda item: item["request"].update(
                    url=item["request"]["url"].replace(":generate", ":streamGenerate")
                ),
            ),
        ],
        ids=["answer-as-events", "event-stream-type", "stream-asked", "gemini-stream-url"],
    )
    def test_any_one_sign_of_a_stream_skips_the_interaction(
        self,
        recorder: exllm_py.Client,
        provider_server: ProviderServer,
        cassettes: Path,
        call: Recorded,
        change: Callable[[dict[str, Any]], None],
    ) -> None:
        path = cassette(cassettes, "one_sign")
        record(recorder, provider_server, path, call)
        edit(path, change)
        harvest = harvest_cassettes(cassettes)
        assert harvest.entries == ()
        assert [
            (skip.cassette, skip.index, skip.reason, skip.detail) for skip in harvest.skips
        ] == [(path, 0, SkipReason.STREAMED, "a streamed answer")]

    @pytest.mark.parametrize("side", ["request", "answer"])
    def test_a_body_that_is_not_json_is_skipped_naming_which(
        self,
        recorder: exllm_py.Client,
        provider_server: ProviderServer,
        cassettes: Path,
        side: str,
    ) -> None:
        path = _two_calls_recorded(recorder, provider_server, cassettes)
        part = "request" if side == "request" else "response"
        edit(path, lambda item: item[part].update(text=json.dumps(item[part].pop("json"))), 1)
        harvest = harvest_cassettes(cassettes)
        assert [item.index for item in harvest.entries] == [0]
        assert [
            (skip.cassette, skip.index, skip.reason, skip.detail) for skip in harvest.skips
        ] == [(path, 1, SkipReason.NOT_JSON, f"the {side} body is text")]

    def test_a_redirection_is_an_error_answer(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        path = record_one(recorder, provider_server, cassettes)
        edit(path, lambda item: item["response"].update(status=300))
        harvest = harvest_cassettes(cassettes)
        assert harvest.entries == ()
        assert [(skip.reason, skip.detail) for skip in harvest.skips] == [
            (SkipReason.ERROR_RESPONSE, "answered 300")
        ]

    def test_an_error_answer_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        provider_server.enqueue(json_reply(openai_error("bad temperature"), status=400))
        with (
            use_cassette(cassette(cassettes, "error"), mode="once"),
            pytest.raises(ProviderError),
        ):
            recorder.chat("openai", [QUESTION], base_url=provider_server.url)
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.ERROR_RESPONSE.value: 1}
        assert harvest.skips[0].detail == "answered 400"

    def test_a_body_with_a_field_the_client_never_sends_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        path = record_one(recorder, provider_server, cassettes)
        edit(path, lambda item: item["request"]["json"].update(logprobs=True))
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.FOREIGN_REQUEST.value: 1}
        assert "logprobs" in harvest.skips[0].detail

    def test_a_body_the_adapter_would_build_otherwise_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        # The adapter sends a lone text block as a plain string: a list can be read,
        # but no call sends it.
        path = cassette(cassettes, "edited")
        call = CALLS[2]
        record(recorder, provider_server, path, call)

        def as_block_list(item: dict[str, Any]) -> None:
            first = item["request"]["json"]["messages"][0]
            first["content"] = [{"type": "text", "text": first["content"]}]

        edit(path, as_block_list)
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.UNREPRODUCIBLE.value: 1}
        assert harvest.skips[0].detail == "the call sends another body"

    def test_a_header_the_call_sends_otherwise_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        path = cassette(cassettes, "versioned")
        record(recorder, provider_server, path, CALLS[1])
        edit(
            path,
            lambda item: item["request"]["headers"].update({"anthropic-version": "2099-01-01"}),
        )
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.UNREPRODUCIBLE.value: 1}
        assert "anthropic-version" in harvest.skips[0].detail

    def test_an_option_value_the_client_refuses_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        path = record_one(recorder, provider_server, cassettes)
        edit(path, lambda item: item["request"]["json"].update(temperature=7))
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.FOREIGN_REQUEST.value: 1}
        assert "temperature" in harvest.skips[0].detail

    def test_an_openai_format_call_to_an_unknown_host_without_a_provider_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        # Recorded before interactions named their provider: any preset could have sent it.
        path = record_one(recorder, provider_server, cassettes)
        edit(path, lambda item: item.pop("provider"))
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.PROVIDER_UNKNOWN.value: 1}
        assert harvest.skips[0].detail == (
            f"{provider_server.url}/chat/completions is labelled 'openai-compatible', "
            "not a provider name"
        )

    def test_a_chat_path_of_no_known_provider_is_skipped_as_labelled_nothing(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        # A tuned Gemini model's path: a generateContent call, but not under /models/.
        path = cassette(cassettes, "tuned")
        record(recorder, provider_server, path, CALLS[4])
        tuned = f"{provider_server.url}/v1beta/tunedModels/mine:generateContent"
        edit(path, lambda item: (item.pop("provider"), item["request"].update(url=tuned)))
        [skip] = harvest_cassettes(cassettes).skips
        assert (skip.reason, skip.detail) == (
            SkipReason.PROVIDER_UNKNOWN,
            f"{tuned} is labelled 'nothing', not a provider name",
        )

    def test_an_unlabelled_anthropic_call_is_known_by_its_path(
        self,
        recorder: exllm_py.Client,
        provider_server: ProviderServer,
        cassettes: Path,
        production: Callable[[CacheStore], exllm_py.Client],
    ) -> None:
        call = CALLS[2]
        path = cassette(cassettes, "unlabelled")
        record(recorder, provider_server, path, call)
        edit(path, lambda item: item.pop("provider"))
        store = MemoryStore()
        assert warm_from_cassettes(store, cassettes).stored == len(call.all_spellings())
        hit = production(store).chat(
            call.provider, call.messages, base_url=provider_server.url, **call.options
        )
        assert hit.metadata["from_cache"] is True

    def test_a_request_to_no_chat_endpoint_is_skipped(
        self, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        provider_server.route("/v1/embeddings", json_reply({"data": [{"embedding": [0.5]}]}))
        with (
            use_cassette(cassette(cassettes, "embeddings"), mode="once"),
            http_client("httpx") as http,
        ):
            http.post(f"{provider_server.url}/v1/embeddings", json={"input": "hi", "model": "e"})
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.NOT_CHAT_ENDPOINT.value: 1}
        assert harvest.skips[0].detail == f"POST {provider_server.url}/v1/embeddings"

    def test_a_chat_request_sent_by_another_method_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        path = record_one(recorder, provider_server, cassettes)
        edit(path, lambda item: item["request"].update(method="PUT"))
        [skip] = harvest_cassettes(cassettes).skips
        assert (skip.reason, skip.detail) == (
            SkipReason.NOT_CHAT_ENDPOINT,
            "PUT is not how a chat call is sent",
        )

    def test_a_url_the_call_would_spell_otherwise_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        # The call reads back with a base URL ending in "/", which the adapter drops.
        path = record_one(recorder, provider_server, cassettes)
        recorded = f"{provider_server.url}/v1//chat/completions"
        edit(path, lambda item: item["request"].update(url=recorded))
        harvest = harvest_cassettes(cassettes)
        assert harvest.entries == ()
        [skip] = harvest.skips
        assert (skip.reason, skip.detail) == (
            SkipReason.UNREPRODUCIBLE,
            f"the call sends POST {provider_server.url}/v1/chat/completions, not POST {recorded}",
        )

    def test_an_empty_answer_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        provider_server.enqueue(json_reply(openai_completion("")))
        with use_cassette(cassette(cassettes, "empty"), mode="once"):
            recorder.chat("openai", [QUESTION], base_url=provider_server.url)
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.EMPTY_ANSWER.value: 1}
        assert harvest.skips[0].detail == "no content and no tool calls"

    def test_an_answer_the_client_cannot_read_is_skipped(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        provider_server.enqueue(json_reply({"unexpected": True}))
        with (
            use_cassette(cassette(cassettes, "unreadable"), mode="once"),
            pytest.raises(ProviderError) as live,
        ):
            recorder.chat("openai", [QUESTION], base_url=provider_server.url)
        harvest = harvest_cassettes(cassettes)
        assert harvest.skipped == {SkipReason.UNREADABLE_ANSWER.value: 1}
        assert harvest.skips[0].detail == str(live.value)  # why the live call failed too

    def test_skips_are_counted_per_reason_beside_the_entries(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        record_one(recorder, provider_server, cassettes, "kept")
        for name in ("error_a", "error_b"):
            provider_server.enqueue(json_reply(openai_error("no"), status=400))
            with use_cassette(cassette(cassettes, name), mode="once"), pytest.raises(ProviderError):
                recorder.chat("openai", [QUESTION], base_url=provider_server.url)
        with use_cassette(cassette(cassettes, "streamed"), mode="once"):
            list(recorder.stream("openai", [QUESTION], base_url=provider_server.url))
        store = MemoryStore()
        report = warm_from_cassettes(store, cassettes)
        assert report.skipped == {
            SkipReason.ERROR_RESPONSE.value: 2,
            SkipReason.STREAMED.value: 1,
        }
        assert (report.stored, report.harvested, report.interactions, report.cassettes) == (
            1,
            1,
            4,
            4,
        )

    def test_an_unreadable_cassette_is_reported_and_the_others_harvested(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        record_one(recorder, provider_server, cassettes)
        broken = cassette(cassettes, "broken")
        broken.write_text("{not json")
        harvest = harvest_cassettes(cassettes)
        assert list(harvest.unreadable) == [broken]
        assert "not valid JSON" in harvest.unreadable[broken]
        assert (harvest.cassettes, len(harvest.entries)) == (2, 1)

    def test_the_newest_recording_of_a_request_is_the_one_kept(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        # Sorted by path, "a_newer" is read first: the newest wins, not the last read.
        answers = {"a_newer": "Newer answer.", "b_older": "Older answer."}
        for name, text in answers.items():
            provider_server.enqueue(json_reply(openai_completion(text)))
            with use_cassette(cassette(cassettes, name), mode="once"):
                recorder.chat("openai", [QUESTION], base_url=provider_server.url)
        edit(
            cassette(cassettes, "b_older"),
            lambda item: item.update(recorded_at="2020-01-01T00:00:00Z"),
        )
        harvest = harvest_cassettes(cassettes)
        [entry] = harvest.entries
        assert entry.entry.response.content == "Newer answer."
        assert entry.cassette == cassette(cassettes, "a_newer")
        [skip] = harvest.skips
        assert (skip.reason, skip.cassette) == (
            SkipReason.RECORDED_AGAIN,
            cassette(cassettes, "b_older"),
        )

    def test_the_newest_recording_wins_whatever_order_the_files_are_read_in(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        # Read in this order: a time nobody can read, an old one, the newest last.
        times = {
            "a_undated": "last Tuesday",
            "b_older": "2020-01-01T00:00:00Z",
            "c_newest": "2024-06-01T00:00:00+02:00",
        }
        for name, recorded_at in times.items():
            provider_server.enqueue(json_reply(openai_completion(f"Answer of {name}.")))
            with use_cassette(cassette(cassettes, name), mode="once"):
                recorder.chat("openai", [QUESTION], base_url=provider_server.url)
            edit(
                cassette(cassettes, name), lambda item, at=recorded_at: item.update(recorded_at=at)
            )
        harvest = harvest_cassettes(cassettes)
        [entry] = harvest.entries
        newest = cassette(cassettes, "c_newest")
        assert (entry.entry.response.content, entry.cassette) == ("Answer of c_newest.", newest)
        # Each skip names the later recording that replaced it.
        later = {"a_undated": "b_older", "b_older": "c_newest"}
        assert sorted(
            (skip.cassette, skip.index, skip.reason, skip.detail) for skip in harvest.skips
        ) == [
            (
                cassette(cassettes, name),
                0,
                SkipReason.RECORDED_AGAIN,
                f"recorded again in {cassette(cassettes, by)}, interaction 0",
            )
            for name, by in later.items()
        ]

    def test_of_recordings_equally_new_the_first_file_read_is_kept(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        for name in ("a_first", "b_second"):
            provider_server.enqueue(json_reply(openai_completion(f"Answer of {name}.")))
            with use_cassette(cassette(cassettes, name), mode="once"):
                recorder.chat("openai", [QUESTION], base_url=provider_server.url)
            edit(
                cassette(cassettes, name),
                lambda item: item.update(recorded_at="2024-06-01T00:00:00Z"),
            )
        harvest = harvest_cassettes(cassettes)
        [entry] = harvest.entries
        assert entry.cassette == cassette(cassettes, "a_first")
        assert [skip.cassette for skip in harvest.skips] == [cassette(cassettes, "b_second")]


# -- namespaces, tags, TTLs ----------------------------------------------------------------


@pytest.mark.usefixtures("recorded")
class TestWhereEntriesGo:
    """Entries go to the namespace given, labelled with the tags given, for the TTL given."""

    def test_entries_are_visible_only_in_their_namespace(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
    ) -> None:
        store = MemoryStore()
        warm_from_cassettes(store, cassettes, namespace="staging")
        client = production(store)
        call = CALLS[0]
        inside = client.chat(
            call.provider,
            call.messages,
            base_url=provider_server.url,
            cache_namespace="staging",
            **call.options,
        )
        assert inside.metadata["from_cache"] is True
        requests_before = len(provider_server.requests)
        provider_server.enqueue(json_reply(call.answer))
        outside = client.chat(
            call.provider, call.messages, base_url=provider_server.url, **call.options
        )
        assert outside.metadata["from_cache"] is False
        assert len(provider_server.requests) == requests_before + 1

    def test_entries_carry_their_namespace_and_tags_for_invalidation(self, cassettes: Path) -> None:
        store = MemoryStore()
        report = warm_from_cassettes(store, cassettes, namespace="staging", tags=["from-cassettes"])
        strategy = ProductionStrategy(store)
        assert strategy.invalidate(provider="gemini", namespace="staging") == 5
        assert strategy.invalidate(tag="from-cassettes") == report.stored - 5
        assert store.stats().entries == 0

    def test_entries_are_labelled_with_the_provider_and_the_model_asked_for(
        self, cassettes: Path
    ) -> None:
        harvest = harvest_cassettes(cassettes)
        labels = {(item.entry.labels.provider, item.entry.labels.model) for item in harvest.entries}
        assert labels == {(call.provider, call.options["model"]) for call in CALLS}

    def test_the_store_default_ttl_applies_unless_one_is_given(self, cassettes: Path) -> None:
        clock = FakeClock()
        store = MemoryStore(default_ttl=600, clock=clock)
        warm_from_cassettes(store, cassettes)
        keys = [item.key for item in harvest_cassettes(cassettes).entries]
        entry = store.get(keys[0])
        assert entry is not None
        assert entry.expires_at == clock.now + 600
        clock.tick(601)
        assert all(store.get(key) is None for key in keys)

    def test_a_ttl_given_replaces_the_default_and_none_never_expires(self, cassettes: Path) -> None:
        clock = FakeClock()
        short, forever = MemoryStore(clock=clock), MemoryStore(clock=clock)
        warm_from_cassettes(short, cassettes, ttl=30)
        warm_from_cassettes(forever, cassettes, ttl=None)
        keys = [item.key for item in harvest_cassettes(cassettes).entries]
        clock.tick(31)
        assert all(short.get(key) is None for key in keys)
        assert all(forever.get(key) is not None for key in keys)

    @pytest.mark.parametrize(
        ("arguments", "named"),
        [
            ({"namespace": ""}, "namespace"),
            ({"tags": "from-cassettes"}, "tags"),
            ({"tags": ["ok", ""]}, "each tag"),
            ({"ttl": -5}, "ttl"),
        ],
    )
    def test_bad_arguments_are_refused_before_any_cassette_is_read(
        self, cassettes: Path, arguments: dict[str, Any], named: str
    ) -> None:
        with pytest.raises(ValidationError, match=rf"^{named} must be "):
            warm_from_cassettes(MemoryStore(), cassettes, **arguments)

    def test_what_is_no_store_is_refused_naming_the_argument(self, cassettes: Path) -> None:
        with pytest.raises(ValidationError) as refused:
            warm_from_cassettes(MemoryStore, cassettes)  # type: ignore[arg-type]  # the class
        assert str(refused.value).startswith(
            "warm_from_cassettes store must be a cache store such as MemoryStore()"
        )


# -- storing -------------------------------------------------------------------------------


@pytest.mark.usefixtures("recorded")
class TestStoring:
    """Warming stores what is missing, leaves what is there, and reports it."""

    def test_a_dry_run_stores_nothing_and_reports_what_it_would_store(
        self, cassettes: Path
    ) -> None:
        store = MemoryStore()
        report = warm_from_cassettes(store, cassettes, dry_run=True)
        assert store.stats().entries == 0
        assert (report.stored, report.dry_run) == (ALL_SPELLINGS, True)

    def test_keys_already_stored_are_left_alone(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
    ) -> None:
        store = MemoryStore()
        client = production(store)
        call = CALLS[0]
        provider_server.enqueue(json_reply(openai_completion("Stored before warming.")))
        client.chat(call.provider, call.messages, base_url=provider_server.url, **call.options)
        report = warm_from_cassettes(store, cassettes)
        assert (report.stored, report.already_cached) == (ALL_SPELLINGS - 1, 1)
        hit = client.chat(
            call.provider, call.messages, base_url=provider_server.url, **call.options
        )
        assert hit.content == "Stored before warming."
        again = warm_from_cassettes(store, cassettes)
        assert (again.stored, again.already_cached) == (0, ALL_SPELLINGS)

    def test_entries_the_store_does_not_keep_are_counted_apart(self, cassettes: Path) -> None:
        puts: list[dict[str, Any]] = []
        telemetry.attach(
            "warm-declined", [telemetry.CACHE_PUT], lambda e, m, meta: puts.append(meta)
        )
        try:
            # Every recorded answer is larger than the whole store.
            report = warm_from_cassettes(MemoryStore(max_bytes=64), cassettes)
        finally:
            telemetry.detach("warm-declined")
        assert (report.stored, report.declined) == (0, ALL_SPELLINGS)
        assert puts == []

    def test_each_entry_stored_is_reported_as_a_put(self, cassettes: Path) -> None:
        puts: list[dict[str, Any]] = []
        telemetry.attach("warm-puts", [telemetry.CACHE_PUT], lambda e, m, meta: puts.append(meta))
        try:
            warm_from_cassettes(MemoryStore(), cassettes, dry_run=True)
            assert puts == []
            report = warm_from_cassettes(MemoryStore(), cassettes, namespace="staging")
        finally:
            telemetry.detach("warm-puts")
        assert len(puts) == report.stored
        assert {(put["provider"], put["model"], put["namespace"]) for put in puts} == {
            (call.provider, call.options["model"], "staging") for call in CALLS
        }

    def test_each_put_names_the_key_its_entry_is_stored_under(self, cassettes: Path) -> None:
        puts: list[dict[str, Any]] = []
        telemetry.attach("warm-keys", [telemetry.CACHE_PUT], lambda e, m, meta: puts.append(meta))
        store = MemoryStore()
        try:
            warm_from_cassettes(store, cassettes)
        finally:
            telemetry.detach("warm-keys")
        keys = [put["key"] for put in puts]
        assert keys == [item.key for item in harvest_cassettes(cassettes).entries]
        assert all(store.get(key) is not None for key in keys)

    def test_progress_is_reported_after_each_entry(self, cassettes: Path) -> None:
        store = MemoryStore()
        first = harvest_cassettes(cassettes).entries[0]
        store.set(first.key, first.entry)
        seen: list[CassetteWarmProgress] = []
        warm_from_cassettes(store, cassettes, progress=seen.append)
        assert [(step.done, step.total) for step in seen] == [
            (done, ALL_SPELLINGS) for done in range(1, ALL_SPELLINGS + 1)
        ]
        assert [step.outcome for step in seen] == ["already_cached"] + ["stored"] * (
            ALL_SPELLINGS - 1
        )
        assert seen[0].key == first.key

    def test_each_entry_names_the_interaction_it_came_from(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        path = _two_calls_recorded(recorder, provider_server, cassettes)
        entries = [item for item in harvest_cassettes(cassettes).entries if item.cassette == path]
        assert [(item.cassette, item.index, item.entry.response.content) for item in entries] == [
            (path, 0, "First."),
            (path, 1, "Second."),
        ]

    def test_a_harvest_dates_its_entries_now_unless_told_when(self, cassettes: Path) -> None:
        before = time.time()
        entries = harvest_cassettes(cassettes, ttl=60).entries
        after = time.time()
        assert entries
        for item in entries:
            assert before <= item.entry.stored_at <= after
            assert item.entry.expires_at == item.entry.stored_at + 60
        assert {item.entry.stored_at for item in harvest_cassettes(cassettes, now=1e9).entries} == {
            1e9
        }

    def test_a_harvest_reports_each_cassette_read(self, cassettes: Path) -> None:
        seen: list[HarvestProgress] = []
        harvest_cassettes(cassettes, progress=seen.append)
        assert [(step.done, step.total, step.cassette) for step in seen] == [
            (done, len(CALLS), path)
            for done, path in enumerate(sorted(cassettes.rglob("*.json")), 1)
        ]

    def test_a_disk_store_warmed_serves_a_client_that_opens_it_later(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
        tmp_path: Path,
    ) -> None:
        warmed = DiskStore(tmp_path / "store")
        try:
            report = warm_from_cassettes(warmed, cassettes)
        finally:
            warmed.close()
        reopened = DiskStore(tmp_path / "store")
        try:
            requests_before = len(provider_server.requests)
            client = production(reopened)
            for call in CALLS:
                hit = client.chat(
                    call.provider, call.messages, base_url=provider_server.url, **call.options
                )
                assert hit.metadata["from_cache"] is True
            assert len(provider_server.requests) == requests_before
            assert reopened.stats().entries == report.stored
        finally:
            reopened.close()

    def test_a_missing_directory_holds_nothing_to_warm(self, tmp_path: Path) -> None:
        report = warm_from_cassettes(MemoryStore(), tmp_path / "nowhere")
        assert (report.cassettes, report.interactions, report.stored) == (0, 0, 0)

    def test_the_report_reads_as_json(self, cassettes: Path) -> None:
        report = warm_from_cassettes(MemoryStore(), cassettes, dry_run=True)
        document = json.loads(json.dumps(report.to_dict()))
        assert (document["stored"], document["declined"]) == (ALL_SPELLINGS, 0)
        assert document["dry_run"] is True
        assert document["skipped"] == {}


class TestTheReport:
    """The report's JSON form holds every figure under its own name, paths as strings."""

    def test_every_figure_is_in_the_json_form(
        self, recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
    ) -> None:
        record_one(recorder, provider_server, cassettes, "a_kept")
        record_one(recorder, provider_server, cassettes, "b_again")  # the same request
        provider_server.enqueue(json_reply(openai_completion("Stored before warming.")))
        with use_cassette(cassette(cassettes, "c_present"), mode="once"):
            recorder.chat("openai", [_PROBE], base_url=provider_server.url)
        provider_server.enqueue(json_reply(openai_error("no"), status=400))
        with (
            use_cassette(cassette(cassettes, "d_error"), mode="once"),
            pytest.raises(ProviderError),
        ):
            recorder.chat("openai", [QUESTION], base_url=provider_server.url)
        broken = cassette(cassettes, "e_broken")
        broken.write_text("{not json")
        store = MemoryStore()
        present = next(
            item
            for item in harvest_cassettes(cassettes).entries
            if item.cassette == cassette(cassettes, "c_present")
        )
        store.set(present.key, present.entry)
        report = warm_from_cassettes(store, cassettes)
        assert json.loads(json.dumps(report.to_dict())) == {
            "stored": 1,
            "already_cached": 1,
            "declined": 0,
            "skipped": {SkipReason.ERROR_RESPONSE.value: 1, SkipReason.RECORDED_AGAIN.value: 1},
            "cassettes": 5,
            "interactions": 4,
            "harvested": 2,
            "unreadable": {str(broken): report.unreadable[broken]},
            "dry_run": False,
        }


@pytest.mark.usefixtures("recorded")
class TestRedis:
    """A Redis store is warmed for every process that reads it; an unreachable one is no success."""

    def test_a_warmed_redis_store_serves_another_client(
        self,
        production: Callable[[CacheStore], exllm_py.Client],
        provider_server: ProviderServer,
        cassettes: Path,
        redis_url: str,
    ) -> None:
        warmed = RedisStore(redis_url, namespace="staging-warm")
        try:
            report = warm_from_cassettes(warmed, cassettes)
        finally:
            warmed.close()
        assert report.stored == ALL_SPELLINGS
        reader = RedisStore(redis_url, namespace="staging-warm")
        try:
            requests_before = len(provider_server.requests)
            client = production(reader)
            for call in CALLS:
                hit = client.chat(
                    call.provider, call.messages, base_url=provider_server.url, **call.options
                )
                assert hit.metadata["from_cache"] is True
            assert len(provider_server.requests) == requests_before
        finally:
            reader.close()

    def test_an_unreachable_redis_is_an_error_naming_it(self, cassettes: Path) -> None:
        """Presence is asked as an invalidation asks it: a store that cannot answer raises."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # closed again before anything connects
        store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        try:
            with pytest.raises(ConfigurationError, match=rf"127\.0\.0\.1:{port}"):
                warm_from_cassettes(store, cassettes)
        finally:
            store.close()


def _two_calls_recorded(
    recorder: exllm_py.Client, provider_server: ProviderServer, cassettes: Path
) -> Path:
    """A cassette holding two recorded calls, "First." then "Second."."""
    path = cassette(cassettes, "two_calls")
    with use_cassette(path, mode="once"):
        for text in ("First.", "Second."):
            provider_server.enqueue(json_reply(openai_completion(text)))
            recorder.chat(
                "openai", [{"role": "user", "content": text}], base_url=provider_server.url
            )
    return path
