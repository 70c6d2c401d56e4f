"""What a run did, said at its end: replayed, recorded, live and missing, and the cassettes written.

Each test builds a project with ``pytester`` whose ``live_api`` tests call
a loopback provider, runs pytest on it as a user would, and reads the
lines the run printed.
"""

from __future__ import annotations

import re
from itertools import takewhile

import pytest

from tests.fakes import ProviderServer
from tests.testing.pytester_project import plain_project

TWO_CALLS = """
import os, pytest, exllm_py

def ask(text):
    return exllm_py.chat(
        "openai", [{"role": "user", "content": text}],
        base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback",
    )

@pytest.mark.live_api
def test_first():
    ask("one")
    ask("two")

@pytest.mark.live_api
def test_second():
    ask("three")

def test_plain():
    pass
"""

PASSTHROUGH = """
import os, pytest, exllm_py

@pytest.mark.live_api(passthrough_hosts=["127.0.0.1"])
def test_goes_live():
    exllm_py.chat(
        "openai", [{"role": "user", "content": "hi"}],
        base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback",
    )
"""


@pytest.fixture(autouse=True)
def _plain_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, loopback_server: ProviderServer
) -> None:
    plain_project(pytester, monkeypatch)


def _summary(result: pytest.RunResult) -> list[str]:
    """The summary's lines: its headline and the indented lines after it."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if _HEADLINE.match(line))
    block = [lines[start]]
    block.extend(line for line in takewhile(lambda line: line.startswith("  "), lines[start + 1 :]))
    return block


_HEADLINE = re.compile(r"exllm_py: (\d+ live_api tests?:|test cache disabled:)")


class TestQuietRun:
    """A run that replayed everything says so in one line, and that nothing went live."""

    def test_replay_run_is_one_line(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=TWO_CALLS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=3)
        result = pytester.runpytest("--exllm-record-mode=none")
        result.assert_outcomes(passed=3)
        assert _summary(result) == [
            "exllm_py: 2 live_api tests: 3 interactions replayed; nothing went live"
        ]

    def test_a_run_without_live_api_tests_prints_nothing(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
        result = pytester.runpytest()
        result.assert_outcomes(passed=1)
        assert not [line for line in result.outlines if _HEADLINE.match(line)]


class TestRecordingRun:
    """A run that recorded counts it, and names the cassettes it wrote with -v."""

    def test_counts_and_a_hint(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=TWO_CALLS)
        result = pytester.runpytest("--exllm-record-mode=once")
        result.assert_outcomes(passed=3)
        assert _summary(result) == [
            "exllm_py: 2 live_api tests: 0 replayed, 3 recorded, 0 live (passthrough), "
            "0 missing; 2 cassettes written (2 created) (-v lists them)"
        ]

    def test_verbose_lists_each_cassette(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=TWO_CALLS)
        result = pytester.runpytest("--exllm-record-mode=once", "-v")
        lines = _summary(result)
        assert lines[0].endswith("2 cassettes written (2 created)")
        assert sorted(lines[1:]) == [
            "  created   cassettes/test_live/test_first.json (2 recorded)",
            "  created   cassettes/test_live/test_second.json (1 recorded)",
        ]

    def test_rewrite_and_new_episodes_are_told_apart(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=TWO_CALLS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=3)
        rewritten = _summary(pytester.runpytest("--exllm-record-mode=rewrite", "-rA"))
        assert rewritten[0].endswith("2 cassettes written (2 rewritten)")
        pytester.makepyfile(test_live=TWO_CALLS.replace('ask("three")', 'ask("four")'))
        extended = _summary(pytester.runpytest("--exllm-record-mode=new_episodes", "-v"))
        assert extended[0] == (
            "exllm_py: 2 live_api tests: 2 replayed, 1 recorded, 0 live (passthrough), "
            "0 missing; 1 cassette written (1 extended)"
        )
        assert extended[1:] == ["  extended  cassettes/test_live/test_second.json (1 recorded)"]


class TestMissingAndLive:
    """Missing recordings and passthrough requests are counted and, with -v, named by test."""

    def test_missing_recordings(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=TWO_CALLS)
        result = pytester.runpytest("--exllm-record-mode=none", "-v")
        result.assert_outcomes(passed=1, failed=2)
        lines = _summary(result)
        assert lines[0] == (
            "exllm_py: 2 live_api tests: 0 replayed, 0 recorded, 0 live (passthrough), "
            "2 missing; no cassette written"
        )
        assert lines[1:] == [
            "  missing   test_live.py::test_first: 1 request",
            "  missing   test_live.py::test_second: 1 request",
        ]

    def test_passthrough_requests_are_live(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=PASSTHROUGH)
        result = pytester.runpytest("--exllm-record-mode=none", "-v")
        result.assert_outcomes(passed=1)
        assert len(loopback_server.requests) == 1
        assert _summary(result) == [
            "exllm_py: 1 live_api test: 0 replayed, 0 recorded, 1 live (passthrough), "
            "0 missing; no cassette written",
            "  live      test_live.py::test_goes_live: 1 request",
        ]

    def test_a_disabled_test_cache_says_every_test_went_live(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_TEST_CACHE_ENABLED", "0")
        pytester.makepyfile(test_live=TWO_CALLS)
        result = pytester.runpytest()
        result.assert_outcomes(passed=3)
        assert _summary(result) == [
            "exllm_py: test cache disabled: 2 live_api tests called the real APIs unrecorded"
        ]


class TestParallelRun:
    """Under pytest -n the controller prints the whole run's figures, not one worker's."""

    def test_workers_outcomes_add_up(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=TWO_CALLS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=3)
        result = pytester.runpytest_subprocess("--exllm-record-mode=none", "-n", "2", "-p", "xdist")
        result.assert_outcomes(passed=3)
        headline = _summary(result)[0]
        assert re.fullmatch(
            r"exllm_py: 2 live_api tests: 3 interactions replayed; nothing went live", headline
        )
