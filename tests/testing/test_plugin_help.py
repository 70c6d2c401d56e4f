"""Tests for what the plugin tells the user before any test runs: ``--help`` and the header.

Run as real pytest sessions with ``pytester``. A wide terminal keeps each
help text on one line, so the lines below are the text a user reads.
"""

from __future__ import annotations

import pytest

from tests.testing.pytester_project import plain_project

OPTION_HELP = [
    "exllm_py: record and replay LLM API calls:",
    "  --exllm-record-mode={none,once,new_episodes,all,rewrite}",
    "*how live_api tests use their cassettes: none (replay only), once (record missing "
    "cassettes), new_episodes, all, rewrite. Default: none under CI, else once.",
    "  --exllm-block-network",
    "*fail any connection to a non-loopback host made outside the recorder "
    "(also: ini exllm_block_network, env EXLLM_BLOCK_NETWORK=1)",
]

INI_HELP = [
    "  exllm_block_network (bool):",
    "*block connections to non-loopback hosts made outside the recorder (default: false)",
    "  exllm_cassette_dir (string):",
    "*directory of live_api cassettes, relative to the rootdir (default: cassettes)",
    "  exllm_ignore_headers (args):",
    "*request headers left out of matching and cassettes (a trailing * is a prefix)",
    "  exllm_ignore_body_paths (args):",
    "*JSON body paths left out of matching, e.g. metadata.user_id (* for any item)",
    "  exllm_passthrough_hosts (args):",
    "*hosts (or host:port) live_api tests reach unrecorded, e.g. the test's own servers",
]


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)
    monkeypatch.setenv("COLUMNS", "400")


class TestHelp:
    """``pytest --help`` documents each option and ini setting, with its type."""

    def test_command_line_options(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--help")
        result.stdout.fnmatch_lines(OPTION_HELP, consecutive=True)

    def test_ini_settings(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--help")
        result.stdout.fnmatch_lines(INI_HELP, consecutive=True)


class TestReportHeader:
    """The header names the record mode and cassette dir, or says the cache is off."""

    def test_enabled_cache(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile("def test_nothing():\n    pass\n")
        result = pytester.runpytest("--exllm-record-mode=none")
        result.stdout.fnmatch_lines(
            [f"exllm_py: record mode none, cassettes in {pytester.path / 'cassettes'}"]
        )

    def test_disabled_cache(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_TEST_CACHE_ENABLED", "0")
        pytester.makepyfile("def test_nothing():\n    pass\n")
        result = pytester.runpytest()
        result.stdout.fnmatch_lines(
            ["exllm_py: test cache disabled (live_api tests call the real APIs)"]
        )
