"""The ini option ``exllm_ignore_body_paths``: body fields named there do not take part in matching.

Each test builds a project with ``pytester``: a ``live_api`` test records
one call against a loopback provider, the ignored field is changed in the
test's source, and the run in record mode ``none`` (replay only, never the
network) must still find the recording. A control run without the option
shows that the same change fails to match, so the option is what matches.
"""

from __future__ import annotations

import pytest

from tests.fakes import ProviderServer
from tests.testing.pytester_project import INI, plain_project

# As in test_plugin: pytest-asyncio warns in every run that leaves its loop scope
# unset; hypothesis' plugin, re-imported by every in-process run, is slow.

CHAT_TEST = """
import os, pytest, exllm_py

@pytest.mark.live_api
def test_chat():
    response = exllm_py.chat(
        "openai",
        [{"role": "user", "content": "What is the capital of France?"}],
        base_url=os.environ["LOOPBACK_URL"],
        api_key="sk-loopback",
        temperature=TEMPERATURE,
    )
    assert response.content == "Hello from the provider server!"
"""

BODY_TEST = """
import os, pytest, httpx
from exllm_py.testing.strategy import TestStrategy

@pytest.mark.live_api
def test_body():
    transport = TestStrategy().wrap_transport(httpx.HTTPTransport())
    with httpx.Client(transport=transport) as http:
        response = http.post(
            os.environ["LOOPBACK_URL"] + "/chat/completions",
            json={"model": "m", "temperature": TEMPERATURE,
                  "metadata": {"user_id": "USER", "team": "TEAM"}},
        )
    assert response.status_code == 200
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


@pytest.fixture
def server(loopback_server: ProviderServer) -> ProviderServer:
    return loopback_server


def _record_then_replay(
    pytester: pytest.Pytester, recorded: str, replayed: str
) -> pytest.RunResult:
    """Record ``recorded`` (mode once), then run ``replayed`` in mode none; that run's result."""
    pytester.makepyfile(test_live=recorded)
    pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
    pytester.makepyfile(test_live=replayed)
    return pytester.runpytest("--exllm-record-mode=none")


def _body_test(temperature: str = "0.1", user: str = "alice", team: str = "core") -> str:
    return BODY_TEST.replace("TEMPERATURE", temperature).replace("USER", user).replace("TEAM", team)


class TestIniOptionThroughChat:
    """exllm_ignore_body_paths = temperature lets a call with another temperature replay."""

    def test_the_ignored_field_may_change(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makeini(INI + "exllm_ignore_body_paths = temperature\n")
        replay = _record_then_replay(
            pytester,
            CHAT_TEST.replace("TEMPERATURE", "0.1"),
            CHAT_TEST.replace("TEMPERATURE", "0.9"),
        )
        replay.assert_outcomes(passed=1)
        assert len(server.requests) == 1

    def test_without_the_option_the_change_does_not_match(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        replay = _record_then_replay(
            pytester,
            CHAT_TEST.replace("TEMPERATURE", "0.1"),
            CHAT_TEST.replace("TEMPERATURE", "0.9"),
        )
        replay.assert_outcomes(failed=1)
        replay.stdout.fnmatch_lines(["*RecordingNotFound*"])
        assert len(server.requests) == 1


class TestIniOptionPaths:
    """Several space-separated paths, dotted for nested fields; only the named ones are ignored."""

    INI_OPTION = "exllm_ignore_body_paths = metadata.user_id temperature\n"

    def test_every_listed_path_may_change(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makeini(INI + self.INI_OPTION)
        replay = _record_then_replay(
            pytester, _body_test(), _body_test(temperature="0.9", user="bob")
        )
        replay.assert_outcomes(passed=1)
        assert len(server.requests) == 1

    def test_a_sibling_of_an_ignored_path_still_counts(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makeini(INI + self.INI_OPTION)
        replay = _record_then_replay(pytester, _body_test(), _body_test(team="infra"))
        replay.assert_outcomes(failed=1)
        replay.stdout.fnmatch_lines(["*RecordingNotFound*"])

    def test_without_the_option_a_nested_change_does_not_match(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        replay = _record_then_replay(pytester, _body_test(), _body_test(user="bob"))
        replay.assert_outcomes(failed=1)


class TestIniAndMarkerTogether:
    """Paths from the ini option and from the marker are both ignored."""

    def test_both_apply(self, pytester: pytest.Pytester, server: ProviderServer) -> None:
        pytester.makeini(INI + "exllm_ignore_body_paths = temperature\n")
        marked = "@pytest.mark.live_api(ignore_body_paths=['metadata.user_id'])"

        def source(**changes: str) -> str:
            return _body_test(**changes).replace("@pytest.mark.live_api", marked)

        replay = _record_then_replay(pytester, source(), source(temperature="0.9", user="bob"))
        replay.assert_outcomes(passed=1)
        assert len(server.requests) == 1
