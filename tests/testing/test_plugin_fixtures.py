"""Which tests the plugin sets a fixture up for: marked ones only, whatever their neighbours.

An unmarked test pays no fixture of the plugin's (setting one up costs a plain
test about a fifth of its run), yet still starts with a fresh test cache.
``--setup-show`` prints every fixture a test sets up, which tells them apart.
"""

from __future__ import annotations

import pytest

from exllm_py.testing.paths import cassette_path_for
from tests.fakes import ProviderServer
from tests.testing.pytester_project import plain_project

_OPENS_CASSETTE = "_exllm_live_api_cassette"

ASK = """
import os

import pytest

import exllm_py


def ask():
    return exllm_py.chat(
        "openai",
        [{"role": "user", "content": "Hi"}],
        base_url=os.environ["LOOPBACK_URL"],
        api_key="sk-loopback",
    )
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


class TestOnlyMarkedTestsSetUpTheCassetteFixture:
    """The fixture that opens a cassette runs for ``live_api`` tests, never for the others."""

    def test_a_plain_test_sets_up_no_plugin_fixture(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile("def test_plain():\n    assert True\n")
        result = pytester.runpytest("--setup-show", "-p", "no:randomly")
        result.assert_outcomes(passed=1)
        assert _OPENS_CASSETTE not in result.stdout.str()

    def test_a_marked_test_sets_it_up(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        pytester.makepyfile(ASK + "\n\n@pytest.mark.live_api\ndef test_live():\n    ask()\n")
        result = pytester.runpytest("--setup-show", "-p", "no:randomly")
        result.assert_outcomes(passed=1)
        assert f"SETUP    F {_OPENS_CASSETTE}" in result.stdout.str()

    def test_parameters_marked_apart_get_it_apart(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        """One parameter marked ``live_api``: it records into a cassette, its siblings run plain."""
        pytester.makepyfile(
            ASK
            + """

@pytest.mark.parametrize(
    "live", [False, pytest.param(True, marks=pytest.mark.live_api), False]
)
def test_each(live, request):
    fixtures = request.fixturenames
    assert ("exllm_cassette" in fixtures or "_exllm_live_api_cassette" in fixtures) is live
    if live:
        assert request.getfixturevalue("exllm_cassette") is not None
        ask()
"""
        )
        result = pytester.runpytest("-p", "no:randomly")
        result.assert_outcomes(passed=3)
        marked = "test_parameters_marked_apart_get_it_apart.py::test_each[True]"
        assert cassette_path_for(pytester.path / "cassettes", marked).is_file()

    def test_a_mark_added_by_a_conftest_hook_counts(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        """Tests a conftest marks in ``pytest_collection_modifyitems``, even last, record."""
        pytester.makeconftest(
            """
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if "live" in item.name:
            item.add_marker(pytest.mark.live_api)
"""
        )
        pytester.makepyfile(ASK + "\n\ndef test_live_by_name():\n    ask()\n")
        result = pytester.runpytest("-p", "no:randomly")
        result.assert_outcomes(passed=1)
        nodeid = "test_a_mark_added_by_a_conftest_hook_counts.py::test_live_by_name"
        assert cassette_path_for(pytester.path / "cassettes", nodeid).is_file()


class TestPlainTestsStillStartAfresh:
    """Without the fixture, each plain test still gets the default client's test cache empty."""

    def test_a_plain_test_after_a_marked_one_is_not_served_its_answer(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        pytester.makepyfile(
            ASK
            + """

@pytest.mark.live_api
def test_live():
    assert exllm_py.chat("mock", [{"role": "user", "content": "Hi"}]).content


def test_plain_first():
    first = exllm_py.chat("mock", [{"role": "user", "content": "Hi"}])
    again = exllm_py.chat("mock", [{"role": "user", "content": "Hi"}])
    assert (first.metadata["from_cache"], again.metadata["from_cache"]) == (False, True)


def test_plain_second():
    answer = exllm_py.chat("mock", [{"role": "user", "content": "Hi"}])
    assert answer.metadata["from_cache"] is False
"""
        )
        pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)
