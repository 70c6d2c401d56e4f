"""Tests for exllm_py.testing.plugin, run as real pytest sessions with ``pytester``."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.paths import cassette_path_for, iter_cassettes
from exllm_py.testing.usage import UsageLog, state_dir_for
from tests.fakes import ProviderServer, json_reply, openai_completion
from tests.testing.pytester_project import INI, plain_project

LIVE_TESTS = """
import os

import pytest

import exllm_py

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def ask(**options):
    return exllm_py.chat(
        "openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback", **options
    )


@pytest.mark.live_api
def test_chat(exllm_cassette):
    response = ask()
    assert response.content == "Hello from the provider server!"
    assert response.metadata["from_cache"] is exllm_cassette.replays
    assert len(exllm_cassette.played) == (1 if exllm_cassette.replays else 0)
    assert exllm_cassette.path.name == "test_chat.json"


@pytest.mark.live_api
class TestGroup:
    def test_own_client(self):
        with exllm_py.Client() as client:
            response = client.chat(
                "openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback"
            )
        assert response.content == "Hello from the provider server!"

    @pytest.mark.parametrize("temperature", [0, 1])
    def test_parametrized(self, temperature):
        assert ask(temperature=temperature).content


def test_not_live_keeps_production_caching():
    first = exllm_py.chat("mock", MESSAGES)
    second = exllm_py.chat("mock", MESSAGES)
    assert (first.metadata["from_cache"], second.metadata["from_cache"]) == (False, True)
"""


# pytest-asyncio warns in every run that leaves its loop scope unset; hypothesis'
# plugin, re-imported by every in-process run, would triple each run's time.


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


@pytest.fixture
def server(loopback_server: ProviderServer) -> ProviderServer:
    return loopback_server


def _cassettes(root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in iter_cassettes(root)]


def _usage(project: Path) -> dict[str, object]:
    """The usage log of ``project``'s cassettes, where exllm-cache finds it."""
    return dict(UsageLog(state_dir_for(project), project / "cassettes", project).read())


class TestMarker:
    """The plugin registers the live_api marker and its options."""

    def test_marker_is_registered(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--markers")
        result.stdout.fnmatch_lines(["@pytest.mark.live_api(*"])

    def test_options_are_documented(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--help")
        result.stdout.fnmatch_lines(
            ["*--exllm-record-mode*", "*exllm_cassette_dir*", "*exllm_ignore_body_paths*"]
        )

    def test_unknown_marker_option_fails_the_test(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            "import pytest\n@pytest.mark.live_api(ignore_bodies=['x'])\ndef test_x():\n    pass\n"
        )
        result = pytester.runpytest("--exllm-record-mode=once")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*takes only the keyword arguments*ignore_bodies*"])

    def test_fixture_outside_live_api_fails(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile("def test_x(exllm_cassette):\n    pass\n")
        result = pytester.runpytest()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*exllm_cassette fixture is for tests marked*"])


class TestRecordThenReplay:
    """A suite records against a live endpoint once, then replays with the endpoint gone."""

    def test_record_then_replay_offline(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=LIVE_TESTS)
        recorded = pytester.runpytest("--exllm-record-mode=once", "-p", "no:randomly")
        recorded.assert_outcomes(passed=5)
        assert len(server.requests) == 4 + 0  # the mock provider never goes over HTTP
        root = pytester.path / "cassettes"
        assert _cassettes(root) == sorted(
            cassette_path_for(root, f"test_live.py::{name}").relative_to(root).as_posix()
            for name in (
                "TestGroup::test_own_client",
                "TestGroup::test_parametrized[0]",
                "TestGroup::test_parametrized[1]",
                "test_chat",
            )
        )
        cassette = read_cassette(root / "test_live/test_chat.json")
        assert cassette.metadata["test"] == "test_live.py::test_chat"
        assert "sk-loopback" not in (root / "test_live/test_chat.json").read_text()

        server.stop()
        replayed = pytester.runpytest("--exllm-record-mode=none")
        replayed.assert_outcomes(passed=5)
        replayed.stdout.fnmatch_lines(["exllm_py: record mode none, cassettes in *cassettes"])
        assert set(_usage(pytester.path)) == set(_cassettes(root))

    def test_ci_replays_only_and_never_touches_the_network(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CI", "true")
        pytester.makepyfile(test_live=LIVE_TESTS)
        result = pytester.runpytest("-k", "test_chat")
        result.assert_outcomes(failed=1, deselected=4)
        result.stdout.fnmatch_lines(
            ["*RecordingNotFound: no recording matches POST http://127.0.0.1:*/chat/completions*"]
        )
        assert server.requests == []

    def test_missing_recording_shows_the_closest_as_a_diff(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=LIVE_TESTS)
        pytester.runpytest("--exllm-record-mode=once", "-k", "test_chat").assert_outcomes(passed=1)
        pytester.makepyfile(test_live=LIVE_TESTS.replace("capital of France", "capital of Peru"))
        result = pytester.runpytest("--exllm-record-mode=none", "-k", "test_chat")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*The closest recorded request (- recorded, + this request):*",
                '*-      "content": "What is the capital of France?",*',
                '*+      "content": "What is the capital of Peru?",*',
            ]
        )

    def test_corrupt_cassette_errors_and_is_kept(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=LIVE_TESTS)
        cassette = pytester.path / "cassettes" / "test_live" / "test_chat.json"
        cassette.parent.mkdir(parents=True)
        cassette.write_text('{"version": 1, "interactions": [')
        result = pytester.runpytest("--exllm-record-mode=new_episodes", "-k", "test_chat")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([f"*RecordingCorrupt: cassette {cassette} is not valid JSON*"])
        assert cassette.read_text() == '{"version": 1, "interactions": ['
        assert server.requests == []

    def test_leaked_key_fails_the_test_and_writes_nothing(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-live-echoed-42")
        server.enqueue(json_reply(openai_completion("your key: sk-live-echoed-42")))
        pytester.makepyfile(
            test_leak="""
            import os, pytest, exllm_py

            @pytest.mark.live_api
            def test_echo():
                exllm_py.chat("openai", [{"role": "user", "content": "hi"}],
                              base_url=os.environ["LOOPBACK_URL"])
            """
        )
        result = pytester.runpytest("--exllm-record-mode=once")
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*test_leak.py::test_echo: cassette * was not saved: it contains the value of "
                "OPENAI_API_KEY*"
            ]
        )
        assert "sk-live-echoed-42" not in result.stdout.str()
        assert _cassettes(pytester.path / "cassettes") == []


CONFIGURED_CONFTESTS = {
    "at import": """
import pytest
import exllm_py
from exllm_py.cache.nocache import NoCache

STRATEGY = NoCache()
exllm_py.configure(cache_strategy=STRATEGY)


@pytest.fixture
def suite_strategy():
    return STRATEGY
""",
    "in an autouse fixture": """
import pytest
import exllm_py
from exllm_py.cache.nocache import NoCache

STRATEGY = NoCache()


@pytest.fixture(autouse=True)
def _configured():
    exllm_py.configure(cache_strategy=STRATEGY)


@pytest.fixture
def suite_strategy():
    return STRATEGY
""",
    "in a session fixture": """
import pytest
import exllm_py
from exllm_py.cache.nocache import NoCache

STRATEGY = NoCache()


@pytest.fixture(scope="session", autouse=True)
def _configured():
    exllm_py.configure(cache_strategy=STRATEGY)


@pytest.fixture
def suite_strategy():
    return STRATEGY
""",
}

CONFIGURED_TESTS = """
import os

import pytest

import exllm_py
from exllm_py.client import default_client
from exllm_py.testing.strategy import TestStrategy

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def ask(client=exllm_py):
    return client.chat(
        "openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback"
    )


def test_first(suite_strategy):
    assert default_client().cache_strategy is suite_strategy
    answers = [exllm_py.chat("mock", MESSAGES).metadata["from_cache"] for _ in range(2)]
    assert answers == [False, False]  # the configured NoCache, not a production cache


@pytest.mark.live_api
def test_live(suite_strategy, exllm_cassette):
    strategy = default_client().cache_strategy
    assert isinstance(strategy, TestStrategy)
    assert strategy.delegate is suite_strategy
    assert ask().metadata["from_cache"] is exllm_cassette.replays


def test_after_the_live_test(suite_strategy):
    assert default_client().cache_strategy is suite_strategy
"""

CHOSEN_NONE_TESTS = """
import os

import pytest

import exllm_py
from exllm_py.cache.nocache import NoCache
from exllm_py.client import default_client

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def ask(client=exllm_py):
    return client.chat(
        "openai", MESSAGES, base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback"
    )


def test_plain():
    assert os.environ["EXLLM_CACHE_STRATEGY"] == "none"
    assert isinstance(default_client().cache_strategy, NoCache)
    answers = [exllm_py.chat("mock", MESSAGES).metadata["from_cache"] for _ in range(2)]
    assert answers == [False, False]


@pytest.mark.live_api
def test_live(exllm_cassette):
    assert ask().metadata["from_cache"] is exllm_cassette.replays
    with exllm_py.Client() as own:
        assert ask(own).metadata["from_cache"] is exllm_cassette.replays


def test_plain_after_the_live_test():
    assert os.environ["EXLLM_CACHE_STRATEGY"] == "none"
    assert isinstance(default_client().cache_strategy, NoCache)
"""


class TestUserConfiguration:
    """The plugin keeps the strategy the user chose, and still records live_api tests."""

    @pytest.mark.parametrize("conftest", sorted(CONFIGURED_CONFTESTS))
    def test_configured_strategy_is_kept(
        self, pytester: pytest.Pytester, server: ProviderServer, conftest: str
    ) -> None:
        pytester.makeconftest(CONFIGURED_CONFTESTS[conftest])
        pytester.makepyfile(test_configured=CONFIGURED_TESTS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=3)
        assert len(server.requests) == 1
        server.stop()
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=3)

    def test_strategy_named_in_the_environment_is_kept(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_CACHE_STRATEGY", "none")
        pytester.makepyfile(test_none=CHOSEN_NONE_TESTS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=3)
        assert len(server.requests) == 2
        server.stop()
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=3)
        assert os.environ["EXLLM_CACHE_STRATEGY"] == "none"

    def test_unset_strategy_is_test_for_the_run_then_unset(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("EXLLM_CACHE_STRATEGY", raising=False)
        pytester.makepyfile(
            """
            import os
            from exllm_py.client import default_client
            from exllm_py.testing.strategy import TestStrategy

            def test_strategy():
                assert os.environ["EXLLM_CACHE_STRATEGY"] == "test"
                assert isinstance(default_client().cache_strategy, TestStrategy)
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)
        assert "EXLLM_CACHE_STRATEGY" not in os.environ

    def test_empty_strategy_is_test_for_the_run_then_empty_again(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An empty EXLLM_CACHE_STRATEGY counts as unset for the run and is put back as it was."""
        monkeypatch.setenv("EXLLM_CACHE_STRATEGY", "")
        pytester.makepyfile(
            """
            import os

            def test_strategy():
                assert os.environ["EXLLM_CACHE_STRATEGY"] == "test"
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)
        assert os.environ.get("EXLLM_CACHE_STRATEGY") == ""

    def test_tests_do_not_share_a_cache(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            import exllm_py

            MESSAGES = [{"role": "user", "content": "Hi"}]

            def test_first():
                assert exllm_py.chat("mock", MESSAGES).metadata["from_cache"] is False
                assert exllm_py.chat("mock", MESSAGES).metadata["from_cache"] is True

            def test_second():
                assert exllm_py.chat("mock", MESSAGES).metadata["from_cache"] is False
            """
        )
        pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


class TestConfiguration:
    """Ini options, marker options and environment variables shape each test's cassette."""

    def test_marker_ignores_body_paths(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        source = """
            import os, pytest, exllm_py

            import httpx
            from exllm_py.testing.strategy import TestStrategy

            @pytest.mark.live_api(ignore_body_paths=["metadata.user_id"])
            def test_user():
                transport = TestStrategy().wrap_transport(httpx.HTTPTransport())
                with httpx.Client(transport=transport) as http:
                    http.post(os.environ["LOOPBACK_URL"] + "/chat/completions",
                              json={"model": "m", "metadata": {"user_id": "USER"}})
            """
        pytester.makepyfile(test_user=source)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
        pytester.makepyfile(test_user=source.replace("USER", "SOMEONE ELSE"))
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=1)
        assert len(server.requests) == 1

    def test_ini_directory_and_ignored_headers(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makeini(
            INI + "exllm_cassette_dir = recorded/calls\nexllm_ignore_headers = x-trace-*\n"
        )
        source = """
            import os, uuid, pytest, httpx

            @pytest.mark.live_api
            def test_trace(exllm_cassette):
                from exllm_py.testing.strategy import TestStrategy
                transport = TestStrategy().wrap_transport(httpx.HTTPTransport())
                with httpx.Client(transport=transport) as http:
                    http.post(os.environ["LOOPBACK_URL"] + "/chat/completions", json={},
                              headers={"x-trace-id": uuid.uuid4().hex})
            """
        pytester.makepyfile(test_trace=source)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=1)
        assert _cassettes(pytester.path / "recorded" / "calls") == ["test_trace/test_trace.json"]
        assert (
            "x-trace-id"
            not in (pytester.path / "recorded/calls/test_trace/test_trace.json").read_text()
        )

    def test_environment_directory_wins(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pytester.makeini(INI + "exllm_cassette_dir = from-ini\n")
        monkeypatch.setenv("EXLLM_TEST_CACHE_DIR", str(pytester.path / "from-env"))
        monkeypatch.setenv("EXLLM_RECORD_MODE", "once")
        pytester.makepyfile(test_live=LIVE_TESTS)
        pytester.runpytest("-k", "test_chat").assert_outcomes(passed=1)
        assert _cassettes(pytester.path / "from-env") == ["test_live/test_chat.json"]
        assert not (pytester.path / "from-ini").exists()

    def test_disabled_cache_calls_the_api_every_time(
        self, pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_TEST_CACHE_ENABLED", "false")
        pytester.makepyfile(
            test_off="""
            import os, pytest, exllm_py

            @pytest.mark.live_api
            def test_twice(exllm_cassette):
                assert exllm_cassette is None
                for _ in range(2):
                    response = exllm_py.chat("openai", [{"role": "user", "content": "hi"}],
                                             base_url=os.environ["LOOPBACK_URL"], api_key="k")
                    assert response.metadata["from_cache"] is False
            """
        )
        result = pytester.runpytest("--exllm-record-mode=once")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["exllm_py: test cache disabled*"])
        assert len(server.requests) == 2
        assert not (pytester.path / "cassettes").exists()

    def test_bad_record_mode_in_environment_is_a_usage_error(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EXLLM_RECORD_MODE", "sometimes")
        result = pytester.runpytest()
        result.stderr.fnmatch_lines(["*EXLLM_RECORD_MODE='sometimes' is not a record mode*"])
        assert result.ret == pytest.ExitCode.USAGE_ERROR


class TestAsync:
    """Async live_api tests record and replay like sync ones."""

    def test_async_test(self, pytester: pytest.Pytester, server: ProviderServer) -> None:
        pytester.makepyfile(
            test_async="""
            import os, pytest, exllm_py

            @pytest.mark.asyncio
            @pytest.mark.live_api
            async def test_achat(exllm_cassette):
                async with exllm_py.Client() as client:
                    response = await client.achat(
                        "openai", [{"role": "user", "content": "hi"}],
                        base_url=os.environ["LOOPBACK_URL"], api_key="k")
                assert response.metadata["from_cache"] is exllm_cassette.replays
            """
        )
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
        server.stop()
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=1)


class TestParallel:
    """pytest -n 2 records into distinct cassettes and leaves every file valid."""

    def test_xdist(self, pytester: pytest.Pytester, server: ProviderServer) -> None:
        pytester.makepyfile(
            test_many="""
            import os, pytest, exllm_py

            @pytest.mark.live_api
            @pytest.mark.parametrize("n", range(12))
            def test_question(n):
                response = exllm_py.chat("openai", [{"role": "user", "content": f"q{n}"}],
                                         base_url=os.environ["LOOPBACK_URL"], api_key="k")
                assert response.content
            """
        )
        recorded = pytester.runpytest_subprocess("-n", "2", "--exllm-record-mode=once")
        recorded.assert_outcomes(passed=12)
        root = pytester.path / "cassettes"
        names = _cassettes(root)
        assert len(names) == 12
        for name in names:
            [interaction] = read_cassette(root / name).interactions
            question = interaction.request.body.value["messages"][0]["content"]
            assert name == f"test_many/test_question[{question[1:]}].json"
        assert sorted(_usage(pytester.path)) == sorted(names)
        assert [p.name for p in root.rglob("*.tmp")] == []

        server.stop()
        replayed = pytester.runpytest_subprocess("-n", "2", "--exllm-record-mode=none")
        replayed.assert_outcomes(passed=12)


class TestBesideVcrpy:
    """With pytest-recording active, an LLM call is recorded once, by exllm_py, not by vcrpy."""

    def test_side_by_side(self, pytester: pytest.Pytester, server: ProviderServer) -> None:
        pytester.makepyfile(
            test_both="""
            import os, urllib.error, urllib.request, httpx, pytest, exllm_py

            @pytest.mark.vcr
            @pytest.mark.live_api
            def test_both():
                # urllib is not httpx: vcrpy's to record.
                with pytest.raises(urllib.error.HTTPError) as other:
                    urllib.request.urlopen(os.environ["LOOPBACK_URL"] + "/v1/other")
                assert other.value.code == 404
                # Any httpx client in a live_api test is exllm_py's to record.
                assert httpx.get(os.environ["LOOPBACK_URL"] + "/v1/raw").status_code == 404
                response = exllm_py.chat("openai", [{"role": "user", "content": "hi"}],
                                         base_url=os.environ["LOOPBACK_URL"], api_key="k")
                assert response.content
            """
        )
        # In subprocesses: both plugins load as they would for a user, from entry points.
        pytester.runpytest_subprocess("--record-mode=once").assert_outcomes(passed=1)
        assert len(server.requests) == 3
        vcr_cassette = (pytester.path / "cassettes/test_both/test_both.yaml").read_text()
        assert "/v1/other" in vcr_cassette
        assert "/v1/raw" not in vcr_cassette
        assert "chat/completions" not in vcr_cassette
        ours = read_cassette(pytester.path / "cassettes/test_both/test_both.json").interactions
        assert [i.request.url.rsplit("/", 1)[-1] for i in ours] == ["raw", "completions"]

        server.stop()
        pytester.runpytest_subprocess("--record-mode=none").assert_outcomes(passed=1)
        document = orjson.loads((pytester.path / "cassettes/test_both/test_both.json").read_bytes())
        assert document["interactions"][-1]["request"]["url"].endswith("/chat/completions")


class TestTheCassetteDirHoldsOnlyCassettes:
    """Per-machine state goes to pytest's cache dir; the cassette dir gets cassettes only."""

    @pytest.mark.parametrize("cacheprovider", [True, False])
    def test_a_record_run_leaves_only_cassettes(
        self, pytester: pytest.Pytester, server: ProviderServer, cacheprovider: bool
    ) -> None:
        if cacheprovider:
            pytester.makeini(INI.replace(" -p no:cacheprovider", ""))
        pytester.makepyfile(test_live=LIVE_TESTS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=5)
        root = pytester.path / "cassettes"
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        assert files == _cassettes(root)
        assert set(_usage(pytester.path)) == set(files)
        for path in pytester.path.rglob("*.json"):
            orjson.loads(path.read_bytes())


class TestCassettesUnderTheirOldNames:
    """A cassette named by the earlier rule is found, and moved to its current name."""

    def test_it_replays_and_moves(self, pytester: pytest.Pytester, server: ProviderServer) -> None:
        from exllm_py.testing.migration import legacy_cassette_path_for

        pytester.makepyfile(test_live=LIVE_TESTS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=5)
        root = pytester.path / "cassettes"
        nodeid = "test_live.py::TestGroup::test_own_client"
        current = cassette_path_for(root, nodeid)
        legacy = legacy_cassette_path_for(root, nodeid)
        current.rename(legacy)

        server.stop()
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=5)
        assert current.exists()
        assert not legacy.exists()


class TestASaveThatFails:
    """A cassette that cannot be written fails its test with a message naming the file."""

    def test_a_directory_in_the_cassettes_place(
        self, pytester: pytest.Pytester, server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=LIVE_TESTS)
        target = cassette_path_for(pytester.path / "cassettes", "test_live.py::test_chat")
        target.mkdir(parents=True)
        result = pytester.runpytest("--exllm-record-mode=rewrite", "-k", "test_chat")
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines([f"*cassette {target} could not be saved*"])
        assert "Traceback" not in result.stdout.str()
