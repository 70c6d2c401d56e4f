"""Tests for exllm_py.testing.transport: recording and replaying real exchanges."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import exllm_py
from exllm_py import telemetry
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import (
    AuthenticationError,
    ConfigurationError,
    ExLLMError,
    ProviderError,
    RecordingCorrupt,
    RecordingNotFound,
)
from exllm_py.extensions import FROM_CACHE
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.core import forwarding, is_decided, passing_through
from exllm_py.testing.files import parse_timestamp
from exllm_py.testing.matching import key_digest
from exllm_py.testing.redact import RecordingRefused
from exllm_py.testing.strategy import TestStrategy, active_cassette, recording, use_cassette
from exllm_py.testing.transport import (
    SOURCE_EXTENSION,
    AsyncRecordingTransport,
    RecordingTransport,
    is_forwarding,
)
from exllm_py.types import LLMResponse, StreamChunk
from tests.fakes import (
    ProviderServer,
    anthropic_stream_events,
    gemini_stream_events,
    openai_completion,
    openai_error,
    openai_stream_events,
    sse_reply,
)

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
KEYED = {"OPENAI_API_KEY": "sk-test-key-0001", "ANTHROPIC_API_KEY": "sk-ant-test-0001"}
ClientFactory = Callable[..., exllm_py.Client]


class CountingTransport(httpx.MockTransport):
    """A MockTransport answering a canned completion, counting the requests it saw."""

    def __init__(self, response: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.forwarding: list[bool] = []
        answer = response or (lambda _: httpx.Response(200, json=openai_completion("Paris.")))

        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            self.forwarding.append(is_forwarding())
            return answer(request)

        super().__init__(handle)


class Unreachable(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A network that fails the test if anything reaches it."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the network was touched: {request.method} {request.url}")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the network was touched: {request.method} {request.url}")


class TestPassThrough:
    """Without an active cassette, requests go to the inner transport untouched."""

    def test_no_cassette_passes_through(self, make_client: ClientFactory) -> None:
        network = CountingTransport()
        client = make_client(transport=network, env=KEYED)
        response = client.chat("openai", MESSAGES)
        assert response.content == "Paris."
        assert response.metadata["from_cache"] is False
        assert network.forwarding == [False]

    def test_live_test_without_cache_calls_the_network(self, make_client: ClientFactory) -> None:
        network = CountingTransport()
        client = make_client(transport=network, env=KEYED)
        with recording(None):
            client.chat("openai", MESSAGES)
            client.chat("openai", MESSAGES)
        assert len(network.requests) == 2


class TestRecordThenReplay:
    """A recorded exchange replays identically, offline and without an API key."""

    def test_round_trip(self, make_client: ClientFactory, cassette_path: Path) -> None:
        network = CountingTransport()
        with use_cassette(cassette_path, mode="once"):
            live = make_client(transport=network, env=KEYED).chat("openai", MESSAGES)
        assert network.forwarding == [True]
        with use_cassette(cassette_path, mode="none") as cassette:
            replayed = make_client(transport=Unreachable(), env={}).chat("openai", MESSAGES)
        assert replayed == live
        assert replayed.raw == live.raw
        assert replayed.metadata["from_cache"] is True
        assert replayed.metadata["cassette"] == str(cassette_path)
        assert replayed.metadata["recorded_at"] == cassette.played[0].recorded_at
        assert len(network.requests) == 1

    def test_recorded_file_holds_the_exchange_redacted(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        with use_cassette(cassette_path, mode="once", test_id="tests/x.py::test_y"):
            make_client(transport=CountingTransport(), env=KEYED).chat("openai", MESSAGES)
        text = cassette_path.read_text()
        assert "sk-test-key-0001" not in text
        [interaction] = read_cassette(cassette_path).interactions
        assert ("authorization", "REDACTED") in interaction.request.headers
        assert interaction.request.body.value["messages"] == MESSAGES
        assert interaction.response.body.value["choices"][0]["message"]["content"] == "Paris."
        assert interaction.source == "live API at https://api.openai.com"

    def test_every_credential_is_redacted_in_request_and_response(
        self, cassette_path: Path
    ) -> None:
        secret_headers = {
            "Authorization": "Bearer sk-hdr-0001",
            "X-API-KEY": "sk-hdr-0002",
            "Api-Key": "sk-hdr-0003",
            "x-goog-api-key": "sk-hdr-0004",
            "COOKIE": "session=sk-hdr-0005",
            "OpenAI-Organization": "org-sk-hdr-0006",
        }

        def answer(_: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200,
                headers=[("Set-Cookie", "a=sk-hdr-0007"), ("SET-COOKIE", "b=sk-hdr-0008")],
                json={"ok": True},
            )

        cassette = Cassette.open(cassette_path, mode="once")
        transport = RecordingTransport(CountingTransport(answer), lambda: cassette)
        with httpx.Client(transport=transport) as http:
            http.post(
                "https://api.example.com/v1/x?Key=sk-url-0001&API_KEY=sk-url-0002&alt=sse",
                json={"q": 1},
                headers=secret_headers,
            )
        cassette.save()
        text = cassette_path.read_text()
        assert "sk-" not in text
        [interaction] = read_cassette(cassette_path).interactions
        assert sorted(v for _, v in interaction.request.headers if v == "REDACTED") == [
            "REDACTED"
        ] * len(secret_headers)
        assert interaction.response.headers == (
            ("content-type", "application/json"),
            ("set-cookie", "REDACTED"),
            ("set-cookie", "REDACTED"),
        )
        assert "alt=sse" in interaction.request.url

    def test_recording_without_a_key_names_the_variable(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        with (
            use_cassette(cassette_path, mode="once"),
            pytest.raises(ConfigurationError, match="OPENAI_API_KEY"),
        ):
            make_client(transport=CountingTransport(), env={}).chat("openai", MESSAGES)
        assert not cassette_path.exists()

    def test_source_extension_names_the_origin(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        def answer(_: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200,
                json=openai_completion("Paris."),
                extensions={SOURCE_EXTENSION: "loopback server speaking the openai wire format"},
            )

        with use_cassette(cassette_path, mode="once"):
            make_client(transport=CountingTransport(answer), env=KEYED).chat("openai", MESSAGES)
        recorded = read_cassette(cassette_path)
        assert recorded.metadata["source"] == "loopback server speaking the openai wire format"

    def test_compressed_responses_are_stored_decompressed(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        def gzipped(_: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200,
                headers={"content-type": "application/json", "content-encoding": "gzip"},
                content=gzip.compress(orjson.dumps(openai_completion("Paris."))),
            )

        with use_cassette(cassette_path, mode="once"):
            live = make_client(transport=CountingTransport(gzipped), env=KEYED).chat(
                "openai", MESSAGES
            )
        assert live.content == "Paris."
        assert "content-encoding" not in cassette_path.read_text()
        with use_cassette(cassette_path, mode="none"):
            replayed = make_client(transport=Unreachable()).chat("openai", MESSAGES)
        assert replayed.content == "Paris."

    @pytest.mark.parametrize("status", [400, 429, 500])
    def test_error_responses_are_recorded_and_replayed(
        self, make_client: ClientFactory, cassette_path: Path, status: int
    ) -> None:
        def failing(_: httpx.Request) -> httpx.Response:
            return httpx.Response(status, json=openai_error("nope"), headers={"retry-after": "2"})

        with use_cassette(cassette_path, mode="once"), pytest.raises(ProviderError) as live:
            make_client(transport=CountingTransport(failing), env=KEYED).chat(
                "openai", MESSAGES, max_retries=0
            )
        with use_cassette(cassette_path, mode="none"), pytest.raises(ProviderError) as replayed:
            make_client(transport=Unreachable()).chat("openai", MESSAGES)
        assert type(replayed.value) is type(live.value)
        assert replayed.value.status == live.value.status == status
        assert replayed.value.body == live.value.body

    async def test_async_round_trip(self, strategy: TestStrategy, cassette_path: Path) -> None:
        network = CountingTransport()
        with use_cassette(cassette_path, mode="once"):
            async with exllm_py.Client(
                cache_strategy=strategy, async_transport=network, env=KEYED
            ) as client:
                live = await client.achat("openai", MESSAGES)
        with use_cassette(cassette_path, mode="none"):
            async with exllm_py.Client(
                cache_strategy=strategy, async_transport=Unreachable()
            ) as client:
                replayed = await client.achat("openai", MESSAGES)
        assert replayed == live
        assert replayed.metadata["from_cache"] is True
        assert network.forwarding == [True]


class TestReplayMetadata:
    """A replay carries what a production hit does: from_cache, cache_key and cached_at.

    And what the provider's answer itself said, as live (``native_finish_reason``).
    """

    def _replay(self, client: exllm_py.Client, path: Path, question: str) -> LLMResponse:
        with use_cassette(path, mode="none"):
            return client.chat("openai", [{"role": "user", "content": question}])

    def test_replay_metadata(self, make_client: ClientFactory, cassette_path: Path) -> None:
        with use_cassette(cassette_path, mode="once"):
            make_client(transport=CountingTransport(), env=KEYED).chat("openai", MESSAGES)
        with use_cassette(cassette_path, mode="none") as cassette:
            replayed = make_client(transport=Unreachable()).chat("openai", MESSAGES)
        [interaction] = cassette.played
        assert dict(replayed.metadata) == {
            "from_cache": True,
            "cache_key": key_digest(cassette.key_of(interaction)),
            "cached_at": parse_timestamp(interaction.recorded_at).timestamp(),
            "recorded_at": interaction.recorded_at,
            "cassette": str(cassette_path),
            "native_finish_reason": "stop",
        }
        assert isinstance(replayed.metadata["cached_at"], float)
        assert re.fullmatch(r"[0-9a-f]{64}", replayed.metadata["cache_key"])

    def test_the_same_request_always_reports_the_same_key(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        with use_cassette(cassette_path, mode="once"):
            recorder = make_client(transport=CountingTransport(), env=KEYED)
            for question in ("a", "b"):
                recorder.chat("openai", [{"role": "user", "content": question}])
        first = self._replay(make_client(transport=Unreachable()), cassette_path, "a")
        again = self._replay(make_client(transport=Unreachable()), cassette_path, "a")
        other = self._replay(make_client(transport=Unreachable()), cassette_path, "b")
        assert first.metadata["cache_key"] == again.metadata["cache_key"]
        assert first.metadata["cache_key"] != other.metadata["cache_key"]

    def test_cost_is_priced_as_live(self, make_client: ClientFactory, cassette_path: Path) -> None:
        with use_cassette(cassette_path, mode="once"):
            live = make_client(transport=CountingTransport(), env=KEYED).chat("openai", MESSAGES)
        with use_cassette(cassette_path, mode="none"):
            replayed = make_client(transport=Unreachable()).chat("openai", MESSAGES)
        assert live.cost is not None
        assert replayed.cost == live.cost

    def test_unreadable_recording_time_is_corrupt(self, cassette_path: Path) -> None:
        with use_cassette(cassette_path, mode="once"):
            http = httpx.Client(transport=RecordingTransport(CountingTransport(), active_cassette))
            with http:
                http.post("https://api.example.com/v1/x", json={"q": 1})
        document = orjson.loads(cassette_path.read_bytes())
        document["interactions"][0]["recorded_at"] = "yesterday"
        cassette_path.write_bytes(orjson.dumps(document))
        cassette = Cassette.open(cassette_path, mode="none")
        with (
            httpx.Client(transport=RecordingTransport(Unreachable(), lambda: cassette)) as http,
            pytest.raises(RecordingCorrupt, match=r"recorded_at 'yesterday' is not an ISO 8601"),
        ):
            http.post("https://api.example.com/v1/x", json={"q": 1})


class TestModesThroughTheTransport:
    """Each record mode decides between the cassette and the network as documented."""

    @staticmethod
    def _numbered() -> CountingTransport:
        counter = iter(range(1, 100))
        return CountingTransport(
            lambda _: httpx.Response(200, json=openai_completion(f"answer {next(counter)}"))
        )

    def _record(self, client: exllm_py.Client, path: Path, mode: str, *questions: str) -> list[str]:
        with use_cassette(path, mode=mode):
            return [
                client.chat("openai", [{"role": "user", "content": q}]).content for q in questions
            ]

    def test_none_never_touches_the_network_and_explains_the_miss(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        self._record(make_client(transport=self._numbered(), env=KEYED), cassette_path, "once", "a")
        network = CountingTransport()
        client = make_client(transport=network, env=KEYED)
        with pytest.raises(RecordingNotFound) as caught:
            self._record(client, cassette_path, "none", "b")
        assert network.requests == []
        message = str(caught.value)
        assert '-      "content": "a",' in message
        assert '+      "content": "b",' in message

    def test_once_records_then_only_replays(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        client = make_client(transport=self._numbered(), env=KEYED)
        assert self._record(client, cassette_path, "once", "a", "a") == ["answer 1", "answer 2"]
        assert self._record(client, cassette_path, "once", "a", "a", "a") == [
            "answer 1",
            "answer 2",
            "answer 2",
        ]
        with pytest.raises(RecordingNotFound, match="mode 'once' only records missing"):
            self._record(client, cassette_path, "once", "new")

    def test_new_episodes_records_only_what_is_missing(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        client = make_client(transport=self._numbered(), env=KEYED)
        self._record(client, cassette_path, "once", "a")
        assert self._record(client, cassette_path, "new_episodes", "a", "b") == [
            "answer 1",
            "answer 2",
        ]
        assert self._record(client, cassette_path, "none", "b", "a") == ["answer 2", "answer 1"]

    def test_all_calls_every_time_and_re_records(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        client = make_client(transport=self._numbered(), env=KEYED)
        self._record(client, cassette_path, "once", "a", "b")
        assert self._record(client, cassette_path, "all", "a") == ["answer 3"]
        assert len(read_cassette(cassette_path).interactions) == 1
        assert self._record(client, cassette_path, "none", "a") == ["answer 3"]

    def test_rewrite_starts_from_nothing(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        client = make_client(transport=self._numbered(), env=KEYED)
        self._record(client, cassette_path, "once", "a")
        assert self._record(client, cassette_path, "rewrite", "a", "a") == [
            "answer 2",
            "answer 3",
        ]
        assert self._record(client, cassette_path, "none", "a", "a") == ["answer 2", "answer 3"]

    def test_key_echoed_in_a_response_refuses_the_save(
        self, make_client: ClientFactory, cassette_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-live-echoed-0001")
        echo = CountingTransport(
            lambda r: httpx.Response(200, json=openai_completion(r.headers["authorization"]))
        )
        with pytest.raises(RecordingRefused, match="OPENAI_API_KEY"):
            self._record(make_client(transport=echo), cassette_path, "once", "a")
        assert not cassette_path.exists()


class TestPerCallKeys:
    """A key given as api_key= on the call never reaches disk, though no variable holds it."""

    def test_per_call_key_echoed_by_a_401_refuses_the_save(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        key = "sk-live-per-call-0123456789"

        def echo(request: httpx.Request) -> httpx.Response:
            # Some gateways echo the credential they rejected.
            message = f"Incorrect API key provided: {request.headers['authorization']}"
            return httpx.Response(401, json=openai_error(message))

        errors: list[tuple[Any, ...]] = []
        telemetry.attach("t", [telemetry.TEST_CACHE_ERROR], lambda *e: errors.append(e))
        try:
            # The call fails with the 401; the save, when the block ends, is refused.
            with (
                pytest.raises(RecordingRefused) as refused,
                use_cassette(cassette_path, mode="once", test_id="t::per_call"),
                pytest.raises(AuthenticationError),
            ):
                make_client(transport=CountingTransport(echo), env={}).chat(
                    "openai", MESSAGES, api_key=key
                )
        finally:
            telemetry.detach("t")
        assert not cassette_path.exists()
        assert "the authorization header of a recorded request" in str(refused.value)
        assert key not in str(refused.value)
        [(event, _, metadata)] = errors
        assert event == telemetry.TEST_CACHE_ERROR
        assert metadata["test_id"] == "t::per_call"
        assert metadata["error"].startswith("RecordingRefused: ")
        assert key not in metadata["error"]

    def test_per_call_key_not_echoed_is_recorded_redacted(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        with use_cassette(cassette_path, mode="once"):
            make_client(transport=CountingTransport(), env={}).chat(
                "openai", MESSAGES, api_key="sk-live-per-call-0123456789"
            )
        assert "sk-live-per-call" not in cassette_path.read_text()
        [interaction] = read_cassette(cassette_path).interactions
        assert ("authorization", "REDACTED") in interaction.request.headers


def _collect(
    client: exllm_py.Client, provider: str, server_url: str, **options: Any
) -> list[StreamChunk]:
    return list(client.stream(provider, MESSAGES, base_url=server_url, **options))


def _chunks(chunks: list[StreamChunk]) -> list[tuple[str, str | None, Any]]:
    return [(chunk.content, chunk.finish_reason, chunk.raw) for chunk in chunks]


STREAMS = {
    "openai": lambda: openai_stream_events("The capital of France is Paris.", include_usage=True),
    "anthropic": lambda: anthropic_stream_events("The capital of France is Paris."),
    "gemini": lambda: gemini_stream_events("The capital of France is Paris."),
}


class TestStreamingFidelity:
    """exllm_py.stream yields the same chunks live and replayed, event by event."""

    @pytest.mark.parametrize("provider", sorted(STREAMS))
    def test_same_chunks_live_and_replayed(
        self,
        make_client: ClientFactory,
        provider_server: ProviderServer,
        cassette_path: Path,
        provider: str,
    ) -> None:
        events = STREAMS[provider]()
        provider_server.enqueue(sse_reply(events))
        url = provider_server.url
        with use_cassette(cassette_path, mode="once"):
            live = _collect(make_client(), provider, url, api_key="sk-test-key-0001")
        provider_server.stop()
        with use_cassette(cassette_path, mode="none"):
            replayed = _collect(make_client(), provider, url)
        assert len(live) > 2
        assert _chunks(replayed) == _chunks(live)
        [interaction] = read_cassette(cassette_path).interactions
        assert interaction.response.body.kind == "sse"
        assert [f"{raw}\n\n".encode() for raw in interaction.response.body.value] == [
            event.encode() for event in events
        ]

    def test_replayed_body_arrives_one_event_per_chunk(
        self, provider_server: ProviderServer, cassette_path: Path
    ) -> None:
        events = openai_stream_events("one two three")
        provider_server.enqueue(sse_reply(events))
        url = f"{provider_server.url}/chat/completions"
        cassette = Cassette.open(cassette_path, mode="once")
        with recording(cassette):
            with httpx.Client(
                transport=RecordingTransport(httpx.HTTPTransport(), lambda: cassette)
            ) as http:
                live = http.post(url, json={"stream": True}).content
            cassette.save()
        replay = Cassette.open(cassette_path, mode="none")
        with (
            httpx.Client(transport=RecordingTransport(Unreachable(), lambda: replay)) as http,
            http.stream("POST", url, json={"stream": True}) as response,
        ):
            pieces = list(response.iter_raw())
            assert response.extensions[FROM_CACHE]["cassette"] == str(cassette_path)
        assert pieces == [event.encode() for event in events]
        assert b"".join(pieces) == live

    def test_a_stream_left_early_is_still_recorded_whole(
        self, make_client: ClientFactory, provider_server: ProviderServer, cassette_path: Path
    ) -> None:
        provider_server.enqueue(sse_reply(openai_stream_events("one two three four")))
        with use_cassette(cassette_path, mode="once"):
            stream = make_client().stream(
                "openai", MESSAGES, base_url=provider_server.url, api_key="sk-test-key-0001"
            )
            first = next(iter(stream))
            stream.close()  # type: ignore[attr-defined]  # a generator
        provider_server.stop()
        with use_cassette(cassette_path, mode="none"):
            replayed = _collect(make_client(), "openai", provider_server_url(cassette_path))
        assert replayed[0].content == first.content
        assert "".join(chunk.content for chunk in replayed) == "one two three four"

    async def test_an_async_stream_left_early_is_still_recorded_whole(
        self, strategy: TestStrategy, provider_server: ProviderServer, cassette_path: Path
    ) -> None:
        provider_server.enqueue(sse_reply(openai_stream_events("one two three four")))
        url = provider_server.url
        with use_cassette(cassette_path, mode="once"):
            async with exllm_py.Client(cache_strategy=strategy) as client:
                stream = client.astream("openai", MESSAGES, base_url=url, api_key="sk-test-0001")
                first = await anext(stream)
                await stream.aclose()  # type: ignore[attr-defined]  # an async generator
        provider_server.stop()
        with use_cassette(cassette_path, mode="none"):
            async with exllm_py.Client(cache_strategy=strategy) as client:
                replayed = [c async for c in client.astream("openai", MESSAGES, base_url=url)]
        assert replayed[0].content == first.content
        assert "".join(chunk.content for chunk in replayed) == "one two three four"

    async def test_async_stream_replays_the_same_chunks(
        self, strategy: TestStrategy, provider_server: ProviderServer, cassette_path: Path
    ) -> None:
        provider_server.enqueue(sse_reply(anthropic_stream_events("Bonjour tout le monde")))
        url = provider_server.url
        with use_cassette(cassette_path, mode="once"):
            async with exllm_py.Client(cache_strategy=strategy) as client:
                live = [
                    c
                    async for c in client.astream("anthropic", MESSAGES, base_url=url, api_key="k")
                ]
        provider_server.stop()
        with use_cassette(cassette_path, mode="none"):
            async with exllm_py.Client(cache_strategy=strategy) as client:
                replayed = [c async for c in client.astream("anthropic", MESSAGES, base_url=url)]
        assert _chunks(replayed) == _chunks(live)


class _BreakingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """One SSE event, then the connection drops."""

    def __init__(self, first: bytes) -> None:
        self._first = first

    def __iter__(self) -> Iterator[bytes]:
        yield self._first
        raise httpx.ReadError("connection lost mid-stream")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._first
        raise httpx.ReadError("connection lost mid-stream")


async def _read_into(chunks: list[StreamChunk], stream: AsyncIterator[StreamChunk]) -> None:
    async for chunk in stream:
        chunks.append(chunk)


class BreaksMidStream(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A provider whose stream sends its first event and then drops the connection."""

    def _response(self) -> httpx.Response:
        first = openai_stream_events("one two")[0].encode()
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=_BreakingStream(first))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._response()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._response()


class TestBrokenStreams:
    """A stream the network cuts short is not recorded: the next run must go live again."""

    def test_a_stream_cut_short_is_not_recorded(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        client = make_client(transport=BreaksMidStream(), max_retries=0)
        with use_cassette(cassette_path, mode="once") as cassette:
            chunks: list[StreamChunk] = []
            with pytest.raises(ExLLMError):
                chunks.extend(client.stream("openai", MESSAGES, api_key="sk-test-key-0001"))
            assert len(chunks) == 1
            assert cassette.recorded == []
        assert not cassette_path.exists()

    async def test_an_async_stream_cut_short_is_not_recorded(
        self, strategy: TestStrategy, cassette_path: Path
    ) -> None:
        broken = BreaksMidStream()
        with use_cassette(cassette_path, mode="once") as cassette:
            async with exllm_py.Client(
                cache_strategy=strategy, async_transport=broken, max_retries=0
            ) as client:
                chunks: list[StreamChunk] = []
                stream = client.astream("openai", MESSAGES, api_key="sk-test-0001")
                with pytest.raises(ExLLMError):
                    await _read_into(chunks, stream)
            assert len(chunks) == 1
            assert cassette.recorded == []


def provider_server_url(cassette_path: Path) -> str:
    """The base URL a cassette was recorded against (the server itself is gone)."""
    url = read_cassette(cassette_path).interactions[0].request.url
    return url.rsplit("/chat/completions", 1)[0]


class TestTelemetry:
    """Hits and misses are reported with the cassette, the test and a prompt-free summary."""

    def test_miss_then_hit(self, make_client: ClientFactory, cassette_path: Path) -> None:
        events: list[tuple[Any, ...]] = []
        telemetry.attach(
            "t",
            [telemetry.TEST_CACHE_HIT, telemetry.TEST_CACHE_MISS],
            lambda *e: events.append(e),
        )
        try:
            with use_cassette(cassette_path, mode="once", test_id="tests/t.py::test_x"):
                make_client(transport=CountingTransport(), env=KEYED).chat(
                    "openai", MESSAGES, model="gpt-4o-mini"
                )
            with use_cassette(cassette_path, mode="none", test_id="tests/t.py::test_x"):
                make_client(transport=Unreachable()).chat("openai", MESSAGES, model="gpt-4o-mini")
        finally:
            telemetry.detach("t")
        assert [event for event, _, _ in events] == [
            telemetry.TEST_CACHE_MISS,
            telemetry.TEST_CACHE_HIT,
        ]
        for _, measurements, metadata in events:
            assert measurements["duration_ns"] > 0
            assert metadata == {
                "cassette": str(cassette_path),
                "test_id": "tests/t.py::test_x",
                "request": "POST https://api.openai.com/v1/chat/completions model=gpt-4o-mini",
            }

    def test_each_duration_is_the_time_inside_the_call_that_reported_it(
        self, make_client: ClientFactory, cassette_path: Path
    ) -> None:
        durations: list[int] = []
        telemetry.attach(
            "t",
            [telemetry.TEST_CACHE_HIT, telemetry.TEST_CACHE_MISS],
            lambda event, measurements, metadata: durations.append(measurements["duration_ns"]),
        )
        elapsed: list[int] = []
        try:
            for mode, transport in (("once", CountingTransport()), ("none", Unreachable())):
                with use_cassette(cassette_path, mode=mode):
                    client = make_client(transport=transport, env=KEYED)
                    started = time.perf_counter_ns()
                    client.chat("openai", MESSAGES, model="gpt-4o-mini")
                    elapsed.append(time.perf_counter_ns() - started)
        finally:
            telemetry.detach("t")
        assert len(durations) == len(elapsed) == 2
        for duration, bound in zip(durations, elapsed, strict=True):
            assert 0 < duration <= bound

    def test_not_found_is_reported_as_an_error(self, cassette_path: Path) -> None:
        errors: list[tuple[Any, ...]] = []
        telemetry.attach("t", [telemetry.TEST_CACHE_ERROR], lambda *e: errors.append(e))
        cassette = Cassette.open(cassette_path, mode="none", test_id="t::x")
        try:
            with (
                httpx.Client(transport=RecordingTransport(Unreachable(), lambda: cassette)) as http,
                pytest.raises(RecordingNotFound),
            ):
                http.get("https://example.com/x?key=secret-value")
        finally:
            telemetry.detach("t")
        [(_, _, metadata)] = errors
        assert metadata["error"] == "RecordingNotFound"
        assert "secret-value" not in metadata["request"]

    def test_the_summary_keeps_a_non_default_port(self, cassette_path: Path) -> None:
        # Two loopback servers differ only by their port.
        errors: list[tuple[Any, ...]] = []
        telemetry.attach("t", [telemetry.TEST_CACHE_ERROR], lambda *e: errors.append(e))
        cassette = Cassette.open(cassette_path, mode="none", test_id="t::x")
        try:
            with (
                httpx.Client(transport=RecordingTransport(Unreachable(), lambda: cassette)) as http,
                pytest.raises(RecordingNotFound),
            ):
                http.post("http://127.0.0.1:8123/v1/chat/completions", json={"model": "m"})
        finally:
            telemetry.detach("t")
        [(_, _, metadata)] = errors
        assert metadata["request"] == "POST http://127.0.0.1:8123/v1/chat/completions model=m"


class TestShells:
    """The sync and async shells close their inner transports and share one core."""

    def test_close_reaches_the_inner_transport(self) -> None:
        closed: list[str] = []

        class Inner(httpx.BaseTransport, httpx.AsyncBaseTransport):
            def close(self) -> None:
                closed.append("sync")

            async def aclose(self) -> None:
                closed.append("async")

        RecordingTransport(Inner(), lambda: None).close()
        assert closed == ["sync"]

    async def test_async_close_reaches_the_inner_transport(self) -> None:
        closed: list[str] = []

        class Inner(httpx.AsyncBaseTransport):
            async def aclose(self) -> None:
                closed.append("async")

        await AsyncRecordingTransport(Inner(), lambda: None).aclose()
        assert closed == ["async"]

    def test_strategy_wraps_the_delegates_transport(self) -> None:
        strategy = TestStrategy(NoCache())
        assert isinstance(strategy.wrap_transport(Unreachable()), RecordingTransport)
        assert isinstance(strategy.wrap_async_transport(Unreachable()), AsyncRecordingTransport)


class TestDecidedRequests:
    """A passthrough request is decided once, yet stays visible to vcrpy (unlike a recorded one)."""

    def test_passing_through_is_decided_but_not_forwarding(self) -> None:
        assert (is_decided(), is_forwarding()) == (False, False)
        with passing_through():
            # vcr_interop skips only what exllm_py records (is_forwarding).
            assert (is_decided(), is_forwarding()) == (True, False)
        with forwarding():
            assert (is_decided(), is_forwarding()) == (True, True)
        assert (is_decided(), is_forwarding()) == (False, False)
