"""Tests for exllm_py.testing.clients: httpx and httpx2 clients wired to the active cassette."""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import orjson
import pytest

import exllm_py.testing
from exllm_py.errors import ConfigurationError, RecordingNotFound
from exllm_py.testing import async_http_client, http_client
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.clients import default_flavor
from exllm_py.testing.paths import iter_cassettes
from exllm_py.testing.strategy import recording, use_cassette
from tests.fakes import DEFAULT_TEXT, ProviderServer, json_reply
from tests.fakes.provider_server import Reply

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}

FLAVORS = ["httpx", "httpx2"]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


def _content(response: Any) -> str:
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


def _post(flavor: str, url: str) -> Any:
    with http_client(flavor) as client:  # type: ignore[call-overload]
        response = client.post(url, json=BODY)
        response.read()
        return response


def _apost(flavor: str, url: str) -> Any:
    async def call() -> Any:
        async with async_http_client(flavor) as client:  # type: ignore[call-overload]
            response = await client.post(url, json=BODY)
            await response.aread()
            return response

    return asyncio.run(call())


def _astream(flavor: str, url: str) -> list[bytes]:
    async def call() -> list[bytes]:
        async with (
            async_http_client(flavor) as client,  # type: ignore[call-overload]
            client.stream("POST", url, json={**BODY, "stream": True}) as response,
        ):
            return [chunk async for chunk in response.aiter_bytes()]

    return asyncio.run(call())


class TestExplicitInjection:
    """A client from http_client()/async_http_client() records, then replays with no server."""

    @pytest.mark.parametrize("flavor", FLAVORS)
    @pytest.mark.parametrize("send", [_post, _apost], ids=["sync", "async"])
    def test_records_then_replays(
        self, server: ProviderServer, tmp_path: Path, flavor: str, send: Any
    ) -> None:
        url = f"{server.url}/v1/chat/completions"
        cassette_path = tmp_path / "case.json"
        with use_cassette(cassette_path, mode="once"):
            live = send(flavor, url)
        server.stop()
        with use_cassette(cassette_path, mode="none") as cassette:
            replayed = send(flavor, url)
        assert _content(live) == _content(replayed) == DEFAULT_TEXT
        assert len(cassette.played) == 1
        assert replayed.extensions["exllm.from_cache"]["from_cache"] is True

    @pytest.mark.parametrize(("recorder", "player"), [FLAVORS, FLAVORS[::-1]])
    def test_one_library_replays_what_the_other_recorded(
        self, server: ProviderServer, tmp_path: Path, recorder: str, player: str
    ) -> None:
        url = f"{server.url}/v1/chat/completions?alt=json&key=sk-query-0001"
        cassette_path = tmp_path / "across.json"
        with use_cassette(cassette_path, mode="once"):
            _post(recorder, url)
        server.stop()
        with use_cassette(cassette_path, mode="none") as cassette:
            assert _content(_post(player, url)) == DEFAULT_TEXT
        assert len(cassette.played) == 1
        assert "sk-query-0001" not in cassette_path.read_text()

    @pytest.mark.parametrize("flavor", FLAVORS)
    def test_streams_replay_event_by_event(
        self, server: ProviderServer, tmp_path: Path, flavor: str
    ) -> None:
        url = f"{server.url}/v1/chat/completions"
        cassette_path = tmp_path / "stream.json"
        with use_cassette(cassette_path, mode="once"):
            live = _astream(flavor, url)
        server.stop()
        with use_cassette(cassette_path, mode="none"):
            replayed = _astream(flavor, url)
        assert b"".join(replayed) == b"".join(live)
        assert [chunk.count(b"\n\n") for chunk in replayed] == [1] * b"".join(live).count(b"\n\n")

    @pytest.mark.parametrize("flavor", FLAVORS)
    def test_replay_only_miss_raises_before_the_network(
        self, server: ProviderServer, tmp_path: Path, flavor: str
    ) -> None:
        with (
            use_cassette(tmp_path / "empty.json", mode="none"),
            pytest.raises(RecordingNotFound, match="no recording matches POST"),
        ):
            _post(flavor, f"{server.url}/v1/chat/completions")
        assert server.requests == []

    def test_outside_a_recording_requests_go_untouched(self, server: ProviderServer) -> None:
        assert _content(_post("httpx2", f"{server.url}/v1/chat/completions")) == DEFAULT_TEXT
        assert len(server.requests) == 1

    def test_the_given_transport_is_the_one_wrapped(self, tmp_path: Path) -> None:
        def answer(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, json={"path": request.url.path})

        cassette_path = tmp_path / "mock.json"
        with (
            use_cassette(cassette_path, mode="once"),
            http_client("httpx2", transport=httpx2.MockTransport(answer)) as client,
        ):
            assert client.get("https://api.example.com/v1/models").json() == {"path": "/v1/models"}
        [interaction] = read_cassette(cassette_path).interactions
        assert interaction.request.url == "https://api.example.com/v1/models"

    def test_client_options_reach_the_client(self) -> None:
        with http_client("httpx", base_url="https://api.example.com/v1", timeout=7) as client:
            assert client.base_url == "https://api.example.com/v1/"
            assert client.timeout.read == 7


ANSWERED = {"path": "/v1/models"}


def _answer(request: Any) -> Any:
    """A MockTransport handler of either library, answering with the path asked for."""
    library = httpx2 if isinstance(request, httpx2.Request) else httpx
    return library.Response(200, json={"path": request.url.path})


def _get(flavor: str, is_async: bool, url: str, **options: Any) -> Any:
    """GET ``url`` with a fresh client of ``flavor``, sync or async; the read response."""
    if not is_async:
        with http_client(flavor, **options) as client:  # type: ignore[call-overload]
            return client.get(url)

    async def call() -> Any:
        async with async_http_client(flavor, **options) as client:  # type: ignore[call-overload]
            response = await client.get(url)
            await response.aread()
            return response

    return asyncio.run(call())


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
class TestEveryKindOfClient:
    """Sync and async clients of both libraries take the same options and honour the same hosts."""

    def test_the_given_transport_is_the_one_wrapped(
        self, tmp_path: Path, flavor: str, is_async: bool
    ) -> None:
        library = httpx2 if flavor == "httpx2" else httpx
        cassette_path = tmp_path / "mock.json"
        with use_cassette(cassette_path, mode="once"):
            url = "https://api.example.com/v1/models"
            response = _get(flavor, is_async, url, transport=library.MockTransport(_answer))
        assert response.json() == ANSWERED
        [interaction] = read_cassette(cassette_path).interactions
        assert interaction.request.url == "https://api.example.com/v1/models"

    def test_client_options_reach_the_client(
        self, tmp_path: Path, flavor: str, is_async: bool
    ) -> None:
        library = httpx2 if flavor == "httpx2" else httpx
        with use_cassette(tmp_path / "mock.json", mode="once"):
            response = _get(
                flavor,
                is_async,
                "/models",
                base_url="https://api.example.com/v1",
                transport=library.MockTransport(_answer),
            )
        assert response.json() == ANSWERED

    def test_an_answer_keeps_its_headers_live_and_replayed(
        self, server: ProviderServer, tmp_path: Path, flavor: str, is_async: bool
    ) -> None:
        server.route("/v1/models", json_reply(ANSWERED, headers={"x-request-id": "req-7"}))
        url = f"{server.url}/v1/models"
        untouched = _get(flavor, is_async, url)
        with use_cassette(tmp_path / "headers.json", mode="once"):
            live = _get(flavor, is_async, url)
        with use_cassette(tmp_path / "headers.json", mode="none"):
            replayed = _get(flavor, is_async, url)
        for response in (live, replayed):
            assert response.headers["x-request-id"] == "req-7"
            assert response.json() == ANSWERED
        # What the transport reported of the exchange reaches the caller, as if untouched.
        assert set(live.extensions) == set(untouched.extensions)

    def test_a_compressed_answer_is_decoded_live_and_replayed(
        self, server: ProviderServer, tmp_path: Path, flavor: str, is_async: bool
    ) -> None:
        compressed = Reply(
            headers={"content-type": "application/json", "content-encoding": "gzip"},
            content=gzip.compress(orjson.dumps(ANSWERED)),
        )
        server.route("/v1/models", compressed)
        path = tmp_path / "gzip.json"
        with use_cassette(path, mode="once"):
            live = _get(flavor, is_async, f"{server.url}/v1/models")
        with use_cassette(path, mode="none"):
            replayed = _get(flavor, is_async, f"{server.url}/v1/models")
        assert live.json() == replayed.json() == ANSWERED
        [interaction] = read_cassette(path).interactions
        assert interaction.response.body.value == ANSWERED

    def test_outside_a_recording_requests_go_untouched(
        self, server: ProviderServer, flavor: str, is_async: bool
    ) -> None:
        server.route("/v1/models", json_reply(ANSWERED))
        assert _get(flavor, is_async, f"{server.url}/v1/models").json() == ANSWERED
        assert len(server.requests) == 1

    def test_a_passthrough_host_is_reached_unrecorded(
        self, server: ProviderServer, tmp_path: Path, flavor: str, is_async: bool
    ) -> None:
        # Replay only, and empty: a request it saw would be a miss.
        cassette = Cassette.open(tmp_path / "empty.json", mode="none")
        server.route("/v1/models", json_reply(ANSWERED))
        with recording(cassette, passthrough_hosts=frozenset({"127.0.0.1"})):
            response = _get(flavor, is_async, f"{server.url}/v1/models")
        assert response.json() == ANSWERED
        assert len(server.requests) == 1
        assert (cassette.live, cassette.recorded) == (1, [])


class TestFlavor:
    """The flavor picks the library; the default is httpx2 when installed, else httpx."""

    def test_each_flavor_is_its_library(self) -> None:
        with http_client("httpx") as plain, http_client("httpx2") as second:
            assert isinstance(plain, httpx.Client)
            assert isinstance(second, httpx2.Client)

        async def build() -> tuple[Any, Any]:
            async with async_http_client("httpx") as plain, async_http_client("httpx2") as second:
                return plain, second

        plain_async, second_async = asyncio.run(build())
        assert isinstance(plain_async, httpx.AsyncClient)
        assert isinstance(second_async, httpx2.AsyncClient)

    def test_default_is_httpx2_when_installed(self) -> None:
        assert default_flavor() == "httpx2"
        with http_client() as client:
            assert isinstance(client, httpx2.Client)

    def test_default_is_httpx_without_httpx2(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "httpx2", None)
        assert default_flavor() == "httpx"
        with http_client() as client:
            assert isinstance(client, httpx.Client)

    def test_asking_for_absent_httpx2_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "httpx2", None)
        for make in (http_client, async_http_client):
            with pytest.raises(ImportError) as caught:
                make("httpx2")
            assert str(caught.value) == (
                "flavor='httpx2' needs the httpx2 package: pip install 'exllm_py[httpx2]' "
                "(or pass flavor='httpx' for an SDK built on httpx)"
            )

    def test_unknown_flavor_names_the_choices(self) -> None:
        with pytest.raises(ConfigurationError, match="'httpx', 'httpx2'"):
            http_client("requests")  # type: ignore[call-overload]


class TestExported:
    """The helpers are public names of exllm_py.testing."""

    def test_all_is_sorted_and_complete(self) -> None:
        assert exllm_py.testing.__all__ == sorted(exllm_py.testing.__all__)
        assert set(exllm_py.testing.__all__) == {"async_http_client", "http_client"}
        for name in exllm_py.testing.__all__:
            assert callable(getattr(exllm_py.testing, name))

    def test_unknown_name_is_an_attribute_error(self) -> None:
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = exllm_py.testing.no_such_name


LIVE_INJECTED = """
import asyncio
import os

import pytest

from exllm_py.testing import async_http_client, http_client

URL = os.environ["LOOPBACK_URL"] + "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.live_api
@pytest.mark.parametrize("flavor", ["httpx", "httpx2", None])
def test_sync(flavor):
    with http_client(flavor) as client:
        assert client.post(URL, json=BODY).status_code == 200


@pytest.mark.live_api
@pytest.mark.parametrize("flavor", ["httpx", "httpx2"])
def test_async(flavor):
    async def call():
        async with async_http_client(flavor) as client:
            return await client.post(URL, json=BODY)

    assert asyncio.run(call()).status_code == 200
"""


class TestInjectedInLiveTests:
    """In a live_api test an injected client records each request once, and replays offline."""

    def test_record_once_replay_offline(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in ("CI", "EXLLM_RECORD_MODE", "EXLLM_TEST_CACHE_DIR"):
            monkeypatch.delenv(name, raising=False)
        pytester.makeini(
            "[pytest]\n"
            "asyncio_default_fixture_loop_scope = function\n"
            "addopts = -p no:hypothesispytest -p no:cacheprovider\n"
        )
        pytester.makepyfile(test_injected=LIVE_INJECTED)
        with ProviderServer() as server:
            monkeypatch.setenv("LOOPBACK_URL", server.url)
            pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=5)
            assert len(server.requests) == 5
        # The injected recorder and the patched transport under it: one interaction each.
        counts = [
            len(read_cassette(path).interactions)
            for path in iter_cassettes(pytester.path / "cassettes")
        ]
        assert counts == [1] * 5
        monkeypatch.setenv("CI", "true")
        pytester.runpytest().assert_outcomes(passed=5)
