"""Tests for the record mode of a pytest run: ``--record-mode`` with or without
pytest-recording, the default under CI, and what a recording test without a key says.

Run as real pytest sessions with ``pytester``; ``-p no:recording`` keeps
pytest-recording (installed with the dev extra) out, as for a user without it.
"""

from __future__ import annotations

import pytest

from tests.fakes import ProviderServer
from tests.testing.pytester_project import plain_project

CHAT_TEST = """
import os

import pytest

import exllm_py


@pytest.mark.live_api
def test_chat(exllm_cassette):
    response = exllm_py.chat(
        "openai", [{"role": "user", "content": "hi"}], base_url=os.environ["LOOPBACK_URL"]
    )
    assert response.metadata["from_cache"] is exllm_cassette.replays
"""

NO_RECORDING = ("-p", "no:recording")


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


@pytest.fixture
def server(loopback_server: ProviderServer) -> ProviderServer:
    return loopback_server


class TestRecordModeWithoutPytestRecording:
    """Without pytest-recording, --record-mode is the plugin's own option, with the same names."""

    def test_it_is_registered_and_documented(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest(*NO_RECORDING, "--help")
        result.stdout.fnmatch_lines(["*--record-mode=*", "*pytest-recording's option*"])
        assert "--block-network" not in result.stdout.str()  # pytest-recording is out

    def test_it_records_then_replays(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-key")
        pytester.makepyfile(test_live=CHAT_TEST)
        recorded = pytester.runpytest(*NO_RECORDING, "--record-mode=once")
        recorded.assert_outcomes(passed=1)
        recorded.stdout.fnmatch_lines(["exllm_py: record mode once, *"])
        server.stop()
        monkeypatch.delenv("OPENAI_API_KEY")
        replayed = pytester.runpytest(*NO_RECORDING, "--record-mode=none")
        replayed.assert_outcomes(passed=1)
        replayed.stdout.fnmatch_lines(["exllm_py: record mode none, *"])

    def test_none_never_calls_the_provider(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=CHAT_TEST)
        result = pytester.runpytest(*NO_RECORDING, "--record-mode=none")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*RecordingNotFound: no recording matches POST*"])
        assert server.requests == []

    def test_an_unknown_mode_is_a_usage_error(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest(*NO_RECORDING, "--record-mode=sometimes")
        result.stderr.fnmatch_lines(["*--record-mode: invalid choice: 'sometimes'*"])
        assert result.ret == pytest.ExitCode.USAGE_ERROR

    def test_exllm_record_mode_wins(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest(*NO_RECORDING, "--record-mode=none", "--exllm-record-mode=all")
        result.stdout.fnmatch_lines(["exllm_py: record mode all, *"])


class TestRecordModeWithPytestRecording:
    """With pytest-recording loaded, its --record-mode is used, in whatever order plugins load."""

    def test_its_option_is_used(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--record-mode=none", "--help")
        result.stdout.fnmatch_lines(["*--block-network*"])  # pytest-recording is in
        assert "pytest-recording's option" not in result.stdout.str()
        header = pytester.runpytest("--record-mode=new_episodes")
        header.stdout.fnmatch_lines(["exllm_py: record mode new_episodes, *"])

    @pytest.mark.parametrize(
        "plugins",
        [
            ("pytest_recording.plugin", "exllm_py.testing.plugin"),
            ("exllm_py.testing.plugin", "pytest_recording.plugin"),
        ],
    )
    def test_either_loading_order(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, plugins: tuple[str, str]
    ) -> None:
        # Entry points load in no promised order; -p loads in the order given.
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        pytester.makeini("[pytest]\n")
        result = pytester.runpytest("-p", plugins[0], "-p", plugins[1], "--record-mode=all")
        result.stdout.fnmatch_lines(["exllm_py: record mode all, *"])
        assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


class TestDefaultModeUnderCI:
    """Any common CI service's variable makes the default none; CI=false alone does not."""

    @pytest.mark.parametrize(
        ("name", "value"),
        [("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "true"), ("JENKINS_URL", "https://ci/")],
    )
    def test_a_ci_service_replays_only(
        self,
        pytester: pytest.Pytester,
        server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
        name: str,
        value: str,
    ) -> None:
        monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-key")
        pytester.makepyfile(test_live=CHAT_TEST)
        result = pytester.runpytest(*NO_RECORDING)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["exllm_py: record mode none, *", "*RecordingNotFound: no recording matches POST*"]
        )
        assert server.requests == []

    def test_ci_false_records(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CI", "false")
        pytester.runpytest(*NO_RECORDING).stdout.fnmatch_lines(["exllm_py: record mode once, *"])


class TestRecordingWithoutAKey:
    """A test that must record and has no key says a key is needed, and that none would fail."""

    def test_once_without_cassette_or_key(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=CHAT_TEST)
        result = pytester.runpytest(*NO_RECORDING, "--record-mode=once")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                # The traceback starts at the test's own call, not in the plugin.
                ">*response = exllm_py.chat(",
                "E *MissingAPIKey: no API key for openai, and recording needs one: "
                "test_live.py::test_chat has no cassette yet (*test_chat.json), and record mode "
                "'once' records it.",
                "E *To record, set OPENAI_API_KEY (or pass api_key=... to the call) and run again.",
                "E *With --record-mode=none (replay only, the default under CI) this test would "
                "fail here too, with RecordingNotFound*",
            ]
        )
        assert server.requests == []
        assert not (pytester.path / "cassettes").exists()

    def test_new_episodes_names_the_missing_recording(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=CHAT_TEST)
        result = pytester.runpytest(*NO_RECORDING, "--record-mode=new_episodes")
        result.stdout.fnmatch_lines(
            ["*has no recording of this request, and mode 'new_episodes' adds it.*"]
        )

    def test_outside_a_recording_the_error_is_unchanged(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(
            test_plain="""
            import os, pytest, exllm_py
            from exllm_py.errors import MissingAPIKey

            def test_plain():
                with pytest.raises(MissingAPIKey) as caught:
                    exllm_py.chat("openai", [{"role": "user", "content": "hi"}],
                                  base_url=os.environ["LOOPBACK_URL"])
                assert caught.value.env_var == "OPENAI_API_KEY"
                assert "recording" not in str(caught.value)
            """
        )
        pytester.runpytest(*NO_RECORDING).assert_outcomes(passed=1)
