"""Tests for which tests the network block spares when the test cache is off.

Run as real pytest sessions with ``pytester``. The probes reach for
TEST-NET-1 (192.0.2.1, never routed) without waiting for an answer.
"""

from __future__ import annotations

import pytest

from tests.testing.pytester_project import plain_project

PROBES = """
import socket

import pytest

from exllm_py.errors import NetworkBlocked


def probe(name):
    with socket.socket() as sock:
        # Non-blocking: returns at once, and never completes (TEST-NET).
        sock.setblocking(False)
        try:
            sock.connect_ex(("192.0.2.1", 9))
        except NetworkBlocked:
            print(f"PROBE {name}: blocked")
        else:
            print(f"PROBE {name}: open")


@pytest.mark.live_api
def test_live():
    probe("live_api")


@pytest.mark.filterwarnings("ignore")
def test_other_mark():
    probe("other mark")
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


class TestCacheOff:
    """With the cache off only ``live_api`` tests reach the network; another mark is no pass."""

    def test_only_live_api_tests_are_spared(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_TEST_CACHE_ENABLED", "false")
        pytester.makepyfile(test_probes=PROBES)
        result = pytester.runpytest("-s", "-p", "no:randomly", "--exllm-block-network")
        result.assert_outcomes(passed=2)
        # -s: each line follows pytest's own progress output, hence the prefix.
        probes = [line.partition("PROBE ")[2] for line in result.outlines if "PROBE " in line]
        assert probes == ["live_api: open", "other mark: blocked"]
