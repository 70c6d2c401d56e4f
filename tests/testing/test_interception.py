"""Tests for sealing ``live_api`` tests: any httpx or httpx2 client is recorded and replayed.

Each test runs real pytest sessions (``pytester``) whose tests call the
loopback provider server over real sockets: once recording, then replaying
with the server stopped, ``CI=true`` and no API key.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import httpx2
import pytest

from exllm_py.errors import RecordingNotFound
from exllm_py.pipeline.credentials import CredentialGuard
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.interception import intercepting
from exllm_py.testing.paths import iter_cassettes
from exllm_py.testing.strategy import recording
from tests.fakes import DEFAULT_TEXT, ProviderServer
from tests.testing.pytester_project import INI, plain_project

PREAMBLE = """
import asyncio
import os

import httpx
import pytest

import exllm_py
from exllm_py.cache import ProductionStrategy

URL = os.environ["LOOPBACK_URL"] + "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
MESSAGES = BODY["messages"]
TEXT = "Hello from the provider server!"


def check(response):
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == TEXT
"""

HTTPX_TESTS = """
EARLY = httpx.Client()  # built before any test runs


def teardown_module():
    EARLY.close()


@pytest.mark.live_api
def test_httpx_client():
    with httpx.Client() as client:
        check(client.post(URL, json=BODY))


@pytest.mark.live_api
def test_httpx_client_built_before_the_test():
    check(EARLY.post(URL, json=BODY))


@pytest.mark.live_api
def test_httpx_async_client():
    async def call():
        async with httpx.AsyncClient() as client:
            return await client.post(URL, json=BODY)

    check(asyncio.run(call()))


@pytest.mark.live_api
def test_own_production_client():
    with exllm_py.Client(cache_strategy=ProductionStrategy()) as client:
        response = client.chat("openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"])
    assert response.content == TEXT


@pytest.mark.live_api
def test_own_production_client_async():
    async def call():
        client = exllm_py.Client(cache_strategy=ProductionStrategy())
        try:
            return await client.achat("openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"])
        finally:
            await client.aclose()

    assert asyncio.run(call()).content == TEXT


@pytest.mark.live_api
def test_default_client():
    assert exllm_py.chat("openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"]).content == TEXT
"""

HTTPX2_TESTS = """
import httpx2

EARLY2 = httpx2.Client()


def teardown_module():
    EARLY.close()
    EARLY2.close()


@pytest.mark.live_api
def test_httpx2_client():
    with httpx2.Client() as client:
        check(client.post(URL, json=BODY))


@pytest.mark.live_api
def test_httpx2_client_built_before_the_test():
    check(EARLY2.post(URL, json=BODY))


@pytest.mark.live_api
def test_httpx2_async_client():
    async def call():
        async with httpx2.AsyncClient() as client:
            return await client.post(URL, json=BODY)

    check(asyncio.run(call()))


@pytest.mark.live_api
def test_httpx2_stream(exllm_cassette):
    with httpx2.Client() as client:
        with client.stream("POST", URL, json={**BODY, "stream": True}) as response:
            chunks = list(response.iter_bytes())
    body = b"".join(chunks)
    assert body.endswith(b"data: [DONE]\\n\\n")
    if exllm_cassette.replays:
        # One chunk per recorded event, as the provider sent them.
        assert [chunk.count(b"\\n\\n") for chunk in chunks] == [1] * body.count(b"\\n\\n")


@pytest.mark.live_api
def test_httpx_async_stream(exllm_cassette):
    async def call():
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", URL, json={**BODY, "stream": True}) as response:
                return [chunk async for chunk in response.aiter_bytes()]

    chunks = asyncio.run(call())
    if exllm_cassette.replays:
        assert len(chunks) > 2
        assert all(chunk.count(b"\\n\\n") == 1 for chunk in chunks)
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


@pytest.fixture
def server(loopback_server: ProviderServer) -> ProviderServer:
    return loopback_server


def _interactions(root: Path) -> dict[str, int]:
    """Each cassette under ``root``'s cassette dir, by file name: how many interactions."""
    return {
        path.name: len(read_cassette(path).interactions)
        for path in iter_cassettes(root / "cassettes")
    }


def _replay_offline(
    pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.RunResult:
    """Run again as CI would: server stopped, ``CI=true``, no key, default record mode."""
    server.stop()
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return pytester.runpytest()


class TestAnyClientIsRecorded:
    """Inside a live_api test every httpx and httpx2 client records once and replays offline."""

    def test_record_then_replay_offline(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pytester.makepyfile(test_sealed=PREAMBLE + HTTPX_TESTS + HTTPX2_TESTS)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-0001")
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=11)
        assert len(server.requests) == 11
        # One interaction each: a request met by two recorders (the default
        # client's transport and the patched network transport) is recorded once.
        assert _interactions(pytester.path) == {
            f"{name}.json": 1
            for name in (
                "test_httpx_client",
                "test_httpx_client_built_before_the_test",
                "test_httpx_async_client",
                "test_own_production_client",
                "test_own_production_client_async",
                "test_default_client",
                "test_httpx2_client",
                "test_httpx2_client_built_before_the_test",
                "test_httpx2_async_client",
                "test_httpx2_stream",
                "test_httpx_async_stream",
            )
        }
        assert "sk-loopback-0001" not in "".join(
            path.read_text() for path in iter_cassettes(pytester.path / "cassettes")
        )
        _replay_offline(pytester, server, monkeypatch).assert_outcomes(passed=11)


class TestSealedMeansReplayOnly:
    """In mode none an unrecorded request fails with RecordingNotFound before the network."""

    @pytest.mark.parametrize(
        "call",
        [
            "httpx.Client().post(URL, json=BODY)",
            "__import__('httpx2').Client().post(URL, json=BODY)",
            "asyncio.run(httpx.AsyncClient().post(URL, json=BODY))",
            "exllm_py.Client(cache_strategy=ProductionStrategy()).chat("
            "'openai', MESSAGES, base_url=os.environ['LOOPBACK_URL'])",
        ],
        ids=["httpx", "httpx2", "httpx-async", "production-client"],
    )
    def test_miss_raises_before_the_network(
        self, pytester: pytest.Pytester, server: ProviderServer, call: str
    ) -> None:
        pytester.makepyfile(
            test_miss=PREAMBLE
            + "\n\n@pytest.mark.live_api\ndef test_miss():\n"
            + "    with pytest.raises(Exception) as caught:\n"
            + f"        {call}\n"
            + "    assert type(caught.value).__name__ == 'RecordingNotFound', caught.value\n"
            + "    assert 'no recording matches POST' in str(caught.value)\n"
            + "    assert '/chat/completions' in str(caught.value)\n"
        )
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=1)
        assert server.requests == []


PASSTHROUGH_TEST = """

@pytest.mark.live_api{marker}
def test_own_server():
    with httpx.Client() as client:
        check(client.post(URL, json=BODY))
"""


class TestPassthroughHosts:
    """Hosts named by the marker, the ini or the environment pass through unrecorded."""

    @pytest.mark.parametrize("way", ["marker", "ini", "env"])
    def test_passthrough_host_reaches_the_network_every_run(
        self,
        pytester: pytest.Pytester,
        server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
        way: str,
    ) -> None:
        marker = "(passthrough_hosts=['127.0.0.1'])" if way == "marker" else ""
        pytester.makepyfile(test_pass=PREAMBLE + PASSTHROUGH_TEST.format(marker=marker))
        if way == "ini":
            pytester.makeini(INI + "exllm_passthrough_hosts = localhost 127.0.0.1\n")
        if way == "env":
            monkeypatch.setenv("EXLLM_PASSTHROUGH_HOSTS", "example.org, 127.0.0.1")
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
        assert _interactions(pytester.path) == {}
        # Replay-only, and still it reaches the server: nothing was recorded to replay.
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=1)
        assert len(server.requests) == 2

    def test_another_port_of_the_host_is_recorded(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        marker = f"(passthrough_hosts=['127.0.0.1:{server.port + 1}'])"
        pytester.makepyfile(test_pass=PREAMBLE + PASSTHROUGH_TEST.format(marker=marker))
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
        assert _interactions(pytester.path) == {"test_own_server.json": 1}


UNMARKED_TESTS = """
from exllm_py.pipeline.credentials import CredentialGuard


@pytest.mark.live_api
def test_live_first():
    with httpx.Client() as client:
        check(client.post(URL, json=BODY))


def test_not_live_after():
    assert httpx.HTTPTransport.handle_request.__module__ == "httpx._transports.default"
    assert CredentialGuard.handle_request.__module__ == "exllm_py.pipeline.credentials"
    with httpx.Client() as client:
        check(client.post(URL, json=BODY))
"""


class TestOnlyLiveTestsAreIntercepted:
    """Tests not marked live_api run the libraries' own methods, restored exactly."""

    def test_unmarked_test_reaches_the_network_unrecorded(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        originals = _patched_methods()
        pytester.makepyfile(test_mixed=PREAMBLE + UNMARKED_TESTS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=2)
        assert _interactions(pytester.path) == {"test_live_first.json": 1}
        assert _patched_methods() == originals
        server.reset()
        monkeypatch.setenv("CI", "true")
        pytester.runpytest().assert_outcomes(passed=2)
        assert len(server.requests) == 1  # the unmarked test's, live

    def test_intercepting_restores_every_method(self) -> None:
        originals = _patched_methods()
        with recording(None), intercepting():
            assert _patched_methods() != originals
        assert _patched_methods() == originals


def _patched_methods() -> dict[str, object]:
    return {
        "httpx": httpx.HTTPTransport.__dict__["handle_request"],
        "httpx-async": httpx.AsyncHTTPTransport.__dict__["handle_async_request"],
        "httpx2": httpx2.HTTPTransport.__dict__["handle_request"],
        "httpx2-async": httpx2.AsyncHTTPTransport.__dict__["handle_async_request"],
        "guard": CredentialGuard.__dict__["handle_request"],
        "guard-async": CredentialGuard.__dict__["handle_async_request"],
    }


class TestWithoutHttpx2:
    """With httpx2 absent the recorder never imports it, and httpx clients are still sealed."""

    def test_import_leaves_httpx2_out(self) -> None:
        code = (
            "import sys, exllm_py, exllm_py.testing, exllm_py.testing.plugin, "
            "exllm_py.testing.isolation; print('httpx2' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "False"

    def test_httpx_only_stack_records_and_replays(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # None in sys.modules makes `import httpx2` fail, as when it is not installed.
        monkeypatch.setitem(sys.modules, "httpx2", None)
        pytester.makepyfile(test_plain=PREAMBLE + HTTPX_TESTS)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-0001")
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=6)
        assert len(_interactions(pytester.path)) == 6
        _replay_offline(pytester, server, monkeypatch).assert_outcomes(passed=6)


# Run in a fresh interpreter, which has not imported httpx2: a sealed block
# that imports it has its transports sealed from then on, and put back after.
IMPORTED_DURING_THE_BLOCK = """
import sys
from pathlib import Path

from exllm_py.errors import RecordingNotFound
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.interception import intercepting
from exllm_py.testing.strategy import recording

assert "httpx2" not in sys.modules
finders = list(sys.meta_path)
cassette = Cassette.open(Path(sys.argv[1]), mode="none")
with recording(cassette), intercepting():
    print("unimported" if "httpx2" not in sys.modules else "imported")
    import httpx2

    original = httpx2.HTTPTransport.handle_request.__wrapped__
    try:
        httpx2.Client().post(sys.argv[2], json={"model": "m"})
    except RecordingNotFound:
        print("sealed")
assert httpx2.HTTPTransport.__dict__["handle_request"] is original
assert sys.meta_path == finders
print("restored")
"""


class TestHttpx2ImportedDuringTheTest:
    """Sealing imports no httpx2; one imported inside the block is sealed, and restored after."""

    def test_a_late_import_is_sealed(self, tmp_path: Path, server: ProviderServer) -> None:
        url = f"{server.url}/chat/completions"
        result = subprocess.run(
            [sys.executable, "-c", IMPORTED_DURING_THE_BLOCK, str(tmp_path / "c.json"), url],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.stdout.split() == ["unimported", "sealed", "restored"], result.stderr
        assert server.requests == []

    def test_a_late_import_in_this_process_is_sealed_and_keeps_its_loader(
        self, tmp_path: Path, server: ProviderServer, httpx2_unimported: None
    ) -> None:
        """The same, in this process: the import goes through the loader sealing wraps."""
        finders = list(sys.meta_path)
        cassette = Cassette.open(tmp_path / "c.json", mode="none")
        with recording(cassette), intercepting():
            fresh = importlib.import_module("httpx2")
            hooked = fresh.HTTPTransport.__dict__["handle_request"]
            with fresh.Client() as client, pytest.raises(RecordingNotFound):
                client.post(f"{server.url}/chat/completions", json={"model": "m"})
            # The rest of the loader's interface still answers (tracebacks read source so).
            source = fresh.__spec__.loader.get_source("httpx2")
        assert fresh is not httpx2
        assert fresh.HTTPTransport.__dict__["handle_request"] is hooked.__wrapped__
        assert sys.meta_path == finders
        assert source == Path(fresh.__file__).read_text()
        assert server.requests == []


@pytest.fixture
def httpx2_unimported() -> Iterator[None]:
    """This process as if it had not imported httpx2 yet; its own modules are put back after."""

    def loaded() -> dict[str, ModuleType]:
        return {
            name: module
            for name, module in sys.modules.items()
            if name == "httpx2" or name.startswith("httpx2.")
        }

    held = loaded()
    for name in held:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in loaded():
            del sys.modules[name]
        sys.modules.update(held)


def test_default_text_is_what_the_generated_tests_expect() -> None:
    """The generated tests compare against the provider server's default answer."""
    assert f'TEXT = "{DEFAULT_TEXT}"' in PREAMBLE
