"""The official openai and anthropic SDKs, recorded and replayed inside ``live_api`` tests.

Each SDK's project (:mod:`tests.sdk.projects`) makes five kinds of call,
each through the SDK's own HTTP client (interception) and through the
injected ``exllm_py.testing.http_client()``: chat, stream, async chat and
stream, a tool call, and a 500 the SDK retries.
"""

from __future__ import annotations

import importlib
import os

import attrs
import orjson
import pytest

from exllm_py.cli import main
from tests.sdk.project import SDKProject


@attrs.frozen
class SDK:
    """An SDK under test: its package, its project module, its key variable and provider."""

    package: str
    key_env: str
    #: A fake key, long enough for the leak check to look for it on disk.
    key: str
    provider: str

    @property
    def module(self) -> str:
        return f"{self.package}_calls"

    def __str__(self) -> str:
        return self.package


SDKS = [
    SDK("openai", "OPENAI_API_KEY", "sk-proj-recording-0123456789abcdef", "openai"),
    SDK("anthropic", "ANTHROPIC_API_KEY", "sk-ant-recording-0123456789abcdef", "anthropic"),
]
#: Tests in each project: five calls, each intercepted and injected.
TESTS = 10
#: Requests each project sends while recording: chat, stream, async (2), tool, 500 + retry.
REQUESTS = 2 * 7

pytestmark = pytest.mark.parametrize("sdk", SDKS, ids=str)


class TestEnvironment:
    """The SDKs under test are the majors this environment is for (httpx2 unless told httpx)."""

    def test_sdk_is_built_on_the_expected_library(self, sdk: SDK) -> None:
        expected = os.environ.get("EXLLM_SDK_FLAVOR", "httpx2")
        client_module = importlib.import_module(f"{sdk.package}._base_client")
        assert ("httpx2" if hasattr(client_module, "httpx2") else "httpx") == expected


class TestRecordThenReplay:
    """Every call records once against the server, then replays offline with no key set."""

    def test_replays_with_the_server_stopped_in_ci_without_a_key(
        self, project: SDKProject, sdk: SDK
    ) -> None:
        project.add(sdk.module)
        project.record(sdk.key_env, sdk.key).assert_outcomes(passed=TESTS)
        assert len(project.server.requests) == REQUESTS
        assert len(project.cassettes.paths) == TESTS

        replayed = project.replay()
        replayed.assert_outcomes(passed=TESTS)
        replayed.stdout.fnmatch_lines(["exllm_py: record mode none, *"])

    def test_retried_server_error_replays_in_recorded_order(
        self, project: SDKProject, sdk: SDK
    ) -> None:
        project.add(sdk.module)
        only = ("-k", "test_retried_server_error")
        project.record(sdk.key_env, sdk.key, *only).assert_outcomes(passed=2, deselected=8)
        statuses = [item["response"]["status"] for item in project.cassettes.interactions()]
        assert statuses == [500, 200, 500, 200]
        # Each project test asserts it was answered 500, then 200, from the cassette.
        project.replay(*only).assert_outcomes(passed=2, deselected=8)


class TestWhatReachesDisk:
    """An SDK's recording holds no key and none of the headers that vary from run to run."""

    def test_no_key_on_disk(self, project: SDKProject, sdk: SDK) -> None:
        project.add(sdk.module)
        project.record(sdk.key_env, sdk.key).assert_outcomes(passed=TESTS)
        assert sdk.key not in project.cassettes.text()

    def test_volatile_sdk_headers_are_not_recorded(self, project: SDKProject, sdk: SDK) -> None:
        project.add(sdk.module)
        project.record(sdk.key_env, sdk.key, "-k", "test_chat").assert_outcomes(
            passed=2, deselected=8
        )
        sent = {name for request in project.server.requests for name in request.headers}
        assert {"user-agent", "x-stainless-retry-count", "x-stainless-os"} <= sent
        for item in project.cassettes.interactions():
            recorded = set(item["request"]["headers"])  # type: ignore[index]
            assert not {name for name in recorded if name.startswith("x-stainless-")}
            assert "user-agent" not in recorded


class TestProvider:
    """Each interaction names the SDK's provider, though the base URL points at loopback."""

    def test_interactions_name_the_provider(self, project: SDKProject, sdk: SDK) -> None:
        project.add(sdk.module)
        project.record(sdk.key_env, sdk.key, "-k", "test_chat").assert_outcomes(
            passed=2, deselected=8
        )
        providers = {item["provider"] for item in project.cassettes.interactions()}
        assert providers == {sdk.provider}

    def test_cli_lists_them_under_the_provider(
        self, project: SDKProject, sdk: SDK, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project.add(sdk.module)
        project.record(sdk.key_env, sdk.key, "-k", "test_chat").assert_outcomes(
            passed=2, deselected=8
        )
        capsys.readouterr()
        root = project.pytester.path
        location = ["--dir", str(root / "cassettes"), "--root", str(root)]
        assert main(["list", "--json", "--provider", sdk.provider, *location]) == 0
        listed = orjson.loads(capsys.readouterr().out)
        assert len(listed) == 2
        assert all(entry["providers"] == [sdk.provider] for entry in listed)
