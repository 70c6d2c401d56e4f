"""Tests for exllm_py.testing.settings: where options come from, and which wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from exllm_py.errors import ConfigurationError
from exllm_py.testing.cassette import RecordMode
from exllm_py.testing.settings import (
    CI_VARIABLES,
    TestCacheSettings,
    ci_variable,
    is_ci,
    is_enabled,
    resolve_block_network,
    resolve_cassette_dir,
    resolve_record_mode,
    settings_for_run,
)


class TestRecordMode:
    """--exllm-record-mode > --record-mode > EXLLM_RECORD_MODE > none under CI, else once."""

    def test_precedence(self) -> None:
        env = {"EXLLM_RECORD_MODE": "all", "CI": "true"}
        assert resolve_record_mode(option="rewrite", recording_option="none", env=env) == "rewrite"
        assert resolve_record_mode(option=None, recording_option="none", env=env) == "none"
        assert resolve_record_mode(option=None, recording_option=None, env=env) == "all"
        assert resolve_record_mode(option=None, recording_option=None, env={"CI": "1"}) == "none"
        assert resolve_record_mode(option=None, recording_option=None, env={}) is RecordMode.ONCE

    def test_ci_false_is_not_ci(self) -> None:
        assert not is_ci({"CI": "false"})
        assert not is_ci({})
        assert is_ci({"CI": "true"})

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("GITHUB_ACTIONS", "true"),
            ("GITLAB_CI", "true"),
            ("BUILDKITE", "true"),
            ("TF_BUILD", "True"),
            ("JENKINS_URL", "https://jenkins.example.com/"),
            ("CIRCLECI", "true"),
            ("TRAVIS", "true"),
            ("TEAMCITY_VERSION", "2024.07"),
            ("BITBUCKET_BUILD_NUMBER", "42"),
        ],
    )
    def test_any_ci_service_replays_only(self, name: str, value: str) -> None:
        env = {name: value}
        assert ci_variable(env) == name
        assert resolve_record_mode(option=None, recording_option=None, env=env) == "none"

    @pytest.mark.parametrize("value", ["", " ", "false", "0", "no", "off", "FALSE"])
    def test_empty_or_false_is_not_ci(self, value: str) -> None:
        env = dict.fromkeys(CI_VARIABLES, value)
        assert ci_variable(env) is None
        assert resolve_record_mode(option=None, recording_option=None, env=env) == "once"

    def test_ci_false_does_not_hide_a_ci_service(self) -> None:
        assert ci_variable({"CI": "false", "GITLAB_CI": "true"}) == "GITLAB_CI"

    def test_bad_value_names_its_source(self) -> None:
        with pytest.raises(ConfigurationError, match="EXLLM_RECORD_MODE='sometimes'"):
            resolve_record_mode(
                option=None, recording_option=None, env={"EXLLM_RECORD_MODE": "sometimes"}
            )

    def test_bad_recording_option_names_that_option(self) -> None:
        """A bad ``--record-mode`` is reported under that option's own name."""
        with pytest.raises(ConfigurationError) as raised:
            resolve_record_mode(option=None, recording_option="later", env={})
        assert str(raised.value).startswith("--record-mode='later' is not a record mode;")

    def test_bad_value_lists_every_mode(self) -> None:
        with pytest.raises(ConfigurationError) as raised:
            resolve_record_mode(option="sometimes", recording_option=None, env={})
        assert str(raised.value) == (
            "--exllm-record-mode='sometimes' is not a record mode; "
            "use one of none, once, new_episodes, all, rewrite"
        )

    def test_the_run_uses_the_mode_its_options_resolve_to(self, tmp_path: Path) -> None:
        settings = settings_for_run(
            rootdir=tmp_path,
            option="rewrite",
            recording_option="none",
            cassette_dir=None,
            ignore_headers=(),
            ignore_body_paths=(),
            env={"EXLLM_RECORD_MODE": "once"},
        )
        assert settings.mode is RecordMode.REWRITE

    def test_the_run_keeps_the_ignore_lists_it_is_given(self, tmp_path: Path) -> None:
        """The ini's header and body-path lists reach the run's settings, as tuples."""
        settings = settings_for_run(
            rootdir=tmp_path,
            option=None,
            recording_option=None,
            cassette_dir=None,
            ignore_headers=iter(["x-request-id"]),
            ignore_body_paths=iter(["metadata.user_id", "seed"]),
            env={},
        )
        assert settings.ignore_headers == ("x-request-id",)
        assert settings.ignore_body_paths == ("metadata.user_id", "seed")


class TestBlockNetwork:
    """--exllm-block-network > EXLLM_BLOCK_NETWORK > the ini; the answer names the switch."""

    def test_precedence(self) -> None:
        off = {"EXLLM_BLOCK_NETWORK": "0"}
        on = {"EXLLM_BLOCK_NETWORK": "1"}
        assert resolve_block_network(option=True, ini=False, env=off) == "--exllm-block-network"
        assert resolve_block_network(option=False, ini=True, env=off) is None
        assert resolve_block_network(option=False, ini=False, env=on) == "EXLLM_BLOCK_NETWORK=1"
        assert resolve_block_network(option=False, ini=True, env={}) == "ini exllm_block_network"
        assert resolve_block_network(option=False, ini=False, env={}) is None

    def test_bad_value_names_the_variable(self) -> None:
        with pytest.raises(ConfigurationError, match="EXLLM_BLOCK_NETWORK='sometimes'"):
            resolve_block_network(option=False, ini=False, env={"EXLLM_BLOCK_NETWORK": "sometimes"})


class TestCassetteDir:
    """EXLLM_TEST_CACHE_DIR > ini exllm_cassette_dir > cassettes, relative to the rootdir."""

    def test_precedence(self, tmp_path: Path) -> None:
        env = {"EXLLM_TEST_CACHE_DIR": "from-env"}
        assert resolve_cassette_dir(tmp_path, "from-ini", env) == tmp_path / "from-env"
        assert resolve_cassette_dir(tmp_path, "from-ini", {}) == tmp_path / "from-ini"
        assert resolve_cassette_dir(tmp_path, None, {}) == tmp_path / "cassettes"
        assert resolve_cassette_dir(tmp_path, str(tmp_path / "abs"), {}) == tmp_path / "abs"


class TestEnabled:
    """EXLLM_TEST_CACHE_ENABLED=false turns the cache off; anything else leaves it on."""

    @pytest.mark.parametrize(("value", "enabled"), [("false", False), ("0", False), ("true", True)])
    def test_values(self, value: str, enabled: bool) -> None:
        assert is_enabled({"EXLLM_TEST_CACHE_ENABLED": value}) is enabled
        assert is_enabled({}) is True


class TestMatcher:
    """A test's matcher adds its marker's ignores to the ini's."""

    def test_marker_adds_to_ini(self, tmp_path: Path) -> None:
        settings = TestCacheSettings(
            RecordMode.NONE, tmp_path, ignore_headers=("x-a",), ignore_body_paths=("a.b",)
        )
        matcher = settings.matcher({"ignore_headers": ["x-b"], "ignore_body_paths": "c"})
        assert {"x-a", "x-b"} <= matcher.ignore_headers
        assert matcher.ignore_body_paths == (("a", "b"), ("c",))

    def test_marker_naming_one_list_keeps_the_ini_other(self, tmp_path: Path) -> None:
        """A marker giving only ignore_headers leaves the ini's body paths as they are."""
        settings = TestCacheSettings(
            RecordMode.NONE, tmp_path, ignore_headers=("x-a",), ignore_body_paths=("a.b",)
        )
        matcher = settings.matcher({"ignore_headers": "x-b"})
        assert {"x-a", "x-b"} <= matcher.ignore_headers
        assert matcher.ignore_body_paths == (("a", "b"),)

    def test_marker_values_must_be_strings(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="ignore_headers"):
            TestCacheSettings(RecordMode.NONE, tmp_path).matcher({"ignore_headers": [1]})


class TestSecrets:
    """The run's secrets are the API keys of the environment it was given, as they were then."""

    def test_keys_come_from_the_given_environment_as_it_started(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        env = {"OPENAI_API_KEY": "sk-run-start-key", "PATH": "/bin"}
        settings = settings_for_run(
            rootdir=tmp_path,
            option=None,
            recording_option=None,
            cassette_dir=None,
            ignore_headers=(),
            ignore_body_paths=(),
            env=env,
        )
        env["OPENAI_API_KEY"] = "sk-changed-later"
        assert dict(settings.secrets) == {"OPENAI_API_KEY": "sk-run-start-key"}
