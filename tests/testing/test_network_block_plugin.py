"""Tests for ``--exllm-block-network``, run as real pytest sessions with ``pytester``.

The generated tests reach for TEST-NET-1 (192.0.2.1, never routed) and
names under example.com, with short timeouts, so a broken block fails them
fast instead of hanging.
"""

from __future__ import annotations

import socket

import pytest

from tests.fakes import ProviderServer
from tests.testing.pytester_project import INI, plain_project

OUTSIDE_TESTS = """
import asyncio
import os
import socket
import threading
import urllib.request

import httpx
import pytest

from exllm_py.errors import NetworkBlocked

TEST_NET = "192.0.2.1"


def test_urllib():
    with pytest.raises(NetworkBlocked, match=r"connection to 192\\.0\\.2\\.1:80 "):
        urllib.request.urlopen(f"http://{TEST_NET}/v1/models", timeout=2)


def test_raw_socket():
    with socket.socket() as sock:
        sock.settimeout(2)
        with pytest.raises(NetworkBlocked, match=r"192\\.0\\.2\\.1:443"):
            sock.connect((TEST_NET, 443))


def test_asyncio_open_connection():
    async def connect():
        await asyncio.wait_for(asyncio.open_connection(TEST_NET, 443), 2)

    with pytest.raises(NetworkBlocked, match=r"192\\.0\\.2\\.1:443"):
        asyncio.run(connect())


def test_asyncio_name_lookup():
    async def connect():
        await asyncio.wait_for(asyncio.open_connection("api.example.com", 443), 2)

    with pytest.raises(NetworkBlocked, match="looking up the name api.example.com"):
        asyncio.run(connect())


def test_httpx():
    with pytest.raises(NetworkBlocked, match=r"192\\.0\\.2\\.1:443"):
        httpx.get(f"https://{TEST_NET}/v1/models", timeout=2)


@pytest.mark.asyncio
async def test_httpx_async():
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(NetworkBlocked, match="api.example.com"):
            await client.get("https://api.example.com/v1/models")


def test_a_thread_of_the_test():
    errors = []

    def fetch():
        try:
            urllib.request.urlopen(f"http://{TEST_NET}/", timeout=2)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    thread.join()
    assert [type(error) for error in errors] == [NetworkBlocked]


def test_loopback_is_allowed():
    response = httpx.post(os.environ["LOOPBACK_URL"] + "/chat/completions", json={}, timeout=2)
    assert response.status_code == 200


@pytest.fixture
def remote_connection():
    socket.create_connection((TEST_NET, 80), timeout=2)


def test_fixtures_are_blocked_too(remote_connection):
    pass
"""

PROBE = """
import socket

from exllm_py.errors import NetworkBlocked


def test_probe():
    with socket.socket() as sock:
        # Non-blocking: returns at once, and never completes (TEST-NET).
        sock.setblocking(False)
        try:
            sock.connect_ex(("192.0.2.1", 9))
        except NetworkBlocked:
            print("BLOCKED=yes")
        else:
            print("BLOCKED=no")
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


@pytest.fixture
def server(loopback_server: ProviderServer) -> ProviderServer:
    return loopback_server


def _probe(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest("-s", *args)
    result.assert_outcomes(passed=1)
    [line] = [line for line in result.outlines if "BLOCKED=" in line]
    return line.rpartition("BLOCKED=")[2]


class TestOutsideTheRecorder:
    """With the option on, any connection or lookup off the machine fails, naming the host."""

    def test_every_client_is_caught(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_outside=OUTSIDE_TESTS)
        connect = socket.socket.connect
        result = pytester.runpytest("--exllm-block-network", "-p", "no:randomly")
        result.assert_outcomes(passed=8, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at setup of test_fixtures_are_blocked_too*",
                "*NetworkBlocked: exllm_py blocked a connection to 192.0.2.1:80 "
                "(--exllm-block-network)*",
            ]
        )
        assert len(server.requests) == 1
        # The session's patches are gone with it.
        assert socket.socket.connect is connect

    def test_a_live_api_test_records_from_a_loopback_server(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(
            test_live="""
            import os, pytest, exllm_py

            @pytest.mark.live_api
            def test_chat(exllm_cassette):
                response = exllm_py.chat("openai", [{"role": "user", "content": "hi"}],
                                         base_url=os.environ["LOOPBACK_URL"], api_key="k")
                assert response.metadata["from_cache"] is exllm_cassette.replays
            """
        )
        pytester.runpytest("--exllm-block-network", "--exllm-record-mode=once").assert_outcomes(
            passed=1
        )
        server.stop()
        pytester.runpytest("--exllm-block-network", "--exllm-record-mode=none").assert_outcomes(
            passed=1
        )


class TestSwitches:
    """The option, EXLLM_BLOCK_NETWORK and the ini's exllm_block_network turn the block on."""

    def test_off_by_default(self, pytester: pytest.Pytester) -> None:
        assert _probe(pytester) == "no"

    def test_option(self, pytester: pytest.Pytester) -> None:
        assert _probe(pytester, "--exllm-block-network") == "yes"

    def test_environment(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("EXLLM_BLOCK_NETWORK", "1")
        assert _probe(pytester) == "yes"

    def test_ini_and_the_environment_turning_it_off(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pytester.makeini(INI + "exllm_block_network = true\n")
        assert _probe(pytester) == "yes"
        monkeypatch.setenv("EXLLM_BLOCK_NETWORK", "0")
        assert _probe(pytester) == "no"

    def test_bad_environment_value_is_a_usage_error(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_BLOCK_NETWORK", "sometimes")
        result = pytester.runpytest()
        result.stderr.fnmatch_lines(["*EXLLM_BLOCK_NETWORK='sometimes' is not a switch*"])
        assert result.ret == pytest.ExitCode.USAGE_ERROR

    def test_live_api_tests_keep_the_network_when_the_cache_is_off(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # EXLLM_TEST_CACHE_ENABLED=false: live_api tests are meant to call the real APIs.
        monkeypatch.setenv("EXLLM_TEST_CACHE_ENABLED", "false")
        pytester.makepyfile(
            test_probe=PROBE + "\n\n@__import__('pytest').mark.live_api\n"
            "def test_live_probe():\n    test_probe()\n"
        )
        result = pytester.runpytest("-s", "-p", "no:randomly", "--exllm-block-network")
        result.assert_outcomes(passed=2)
        probes = [line.rpartition("BLOCKED=")[2] for line in result.outlines if "BLOCKED=" in line]
        assert probes == ["yes", "no"]
