"""Stale interactions, as a user meets them: a prompt changes, new_episodes keeps the old recording.

A generated project records a test, the test changes, a ``new_episodes``
run records the new request and passes; ``exllm-cache list --stale`` then
names the recording nothing plays any more, and
``clean --stale-interactions`` removes it, after which the suite still
replays offline. The unit rules (what counts as a complete use) are in
``test_staleness.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exllm_py.cli import main
from exllm_py.testing.cassette_file import read_cassette
from tests.testing.pytester_project import plain_project

TEST = """
import os, pytest, exllm_py

def ask(text):
    return exllm_py.chat(
        "openai", [{"role": "user", "content": text}],
        base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback",
    )

@pytest.mark.live_api
def test_questions():
    ask("FIRST")
    ask("SECOND")
    assert PASSES

@pytest.mark.live_api
def test_untouched():
    ask("keep me")
"""


@pytest.fixture(autouse=True)
def _plain_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, loopback_server: object
) -> None:
    plain_project(pytester, monkeypatch)


def _source(first: str = "alpha", second: str = "beta", passes: bool = True) -> str:
    return TEST.replace("FIRST", first).replace("SECOND", second).replace("PASSES", str(passes))


def _prompts(path: Path) -> list[str]:
    return [
        item.request.body.value["messages"][-1]["content"]
        for item in read_cassette(path).interactions
    ]


def _cli(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--root", str(pytester.path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _changed_and_extended(pytester: pytest.Pytester, *, passes: bool = True) -> Path:
    """Record alpha+beta, change beta to gamma, extend with new_episodes; the cassette."""
    pytester.makepyfile(test_live=_source())
    pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=2)
    pytester.makepyfile(test_live=_source(second="gamma", passes=passes))
    result = pytester.runpytest("--exllm-record-mode=new_episodes")
    result.assert_outcomes(passed=2) if passes else result.assert_outcomes(passed=1, failed=1)
    path = pytester.path / "cassettes/test_live/test_questions.json"
    assert _prompts(path) == ["alpha", "beta", "gamma"]
    return path


class TestListStale:
    """list --stale names the recordings the last passing run of their test did not play."""

    def test_the_replaced_prompt_is_stale(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _changed_and_extended(pytester)
        code, out, err = _cli(pytester, capsys, "list", "--stale")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0] == "test_live/test_questions.json"
        assert len(lines) == 2
        assert lines[1].startswith("  #2  POST ")
        assert "'beta'" in lines[1]
        assert "1 stale interaction in 1 cassette" in err

    def test_json_gives_positions(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _changed_and_extended(pytester)
        code, out, _ = _cli(pytester, capsys, "list", "--stale", "--json")
        assert code == 0
        [entry] = json.loads(out)
        assert entry["name"] == "test_live/test_questions.json"
        assert [item["index"] for item in entry["stale"]] == [1]

    def test_a_failing_run_makes_nothing_stale(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The first run passed and played alpha and beta; the failing one may
        # not have made all its calls, so it proves nothing about beta.
        _changed_and_extended(pytester, passes=False)
        code, out, err = _cli(pytester, capsys, "list", "--stale")
        assert (code, out) == (0, "")
        assert "0 stale interactions in 0 cassettes" in err

    def test_a_cassette_whose_test_did_not_run_is_never_stale(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        pytester.makepyfile(test_live=_source())
        # Recorded with the plugin's usage log off: no run of this test is known here.
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=2)
        state = pytester.path / ".pytest_cache"
        for path in sorted(state.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        assert _cli(pytester, capsys, "list", "--stale")[1] == ""

    def test_a_teammates_new_recording_is_not_stale(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        pytester.makepyfile(test_live=_source())
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=2)
        path = pytester.path / "cassettes/test_live/test_questions.json"
        # A teammate's run added gamma (pulled since): this machine's last
        # complete use never held it, so nothing here says it is unplayed.
        document = json.loads(path.read_text())
        extra = json.loads(json.dumps(document["interactions"][1]))
        extra["request"]["json"]["messages"][-1]["content"] = "gamma"
        extra["recorded_at"] = "2031-01-01T00:00:00Z"
        document["interactions"].append(extra)
        path.write_text(json.dumps(document))
        assert _cli(pytester, capsys, "list", "--stale")[1] == ""


class TestCleanStale:
    """clean --stale-interactions removes them, and the suite still replays offline."""

    def test_removes_exactly_the_stale_recording(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _changed_and_extended(pytester)
        untouched = pytester.path / "cassettes/test_live/test_untouched.json"
        before = untouched.read_bytes()
        code, out, err = _cli(pytester, capsys, "clean", "--stale-interactions")
        assert code == 0, err
        assert out.splitlines() == [
            "removed 1 interaction from test_live/test_questions.json, 2 left"
        ]
        assert _prompts(path) == ["alpha", "gamma"]
        assert untouched.read_bytes() == before
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=2)
        assert _cli(pytester, capsys, "list", "--stale")[1] == ""

    def test_dry_run_changes_nothing(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _changed_and_extended(pytester)
        before = path.read_bytes()
        code, out, err = _cli(pytester, capsys, "clean", "--stale-interactions", "--dry-run")
        assert code == 0
        assert out.startswith("would remove 1 interaction from test_live/test_questions.json")
        assert "dry run: nothing was removed" in err
        assert path.read_bytes() == before

    def test_it_does_not_combine_with_the_cassette_filters(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = _cli(pytester, capsys, "clean", "--stale-interactions", "--orphans")
        assert code == 2
        assert "two commands" in err


SHARED_CACHE = """
import os, pytest, exllm_py
from exllm_py.cache.production import ProductionStrategy

# The application's own client, with its own production cache, made once.
CLIENT = exllm_py.Client(cache_strategy=ProductionStrategy())

@pytest.fixture(autouse=True, scope="module")
def _close():
    yield
    CLIENT.close()

def ask(question):
    return CLIENT.chat(
        "openai", [{"role": "user", "content": question}],
        base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback",
    )

@pytest.mark.live_api
def test_a():
    ask("same question")

@pytest.mark.live_api
def test_b():
    ask("same question")
    ask("its own question")
"""


class TestCallsTheRecorderNeverSaw:
    """A test answered by a cache above HTTP proves nothing about its recordings."""

    def test_a_production_cache_hit_keeps_the_cassette_from_looking_stale(
        self, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
    ) -> None:
        pytester.makepyfile(test_live=SHARED_CACHE)
        # Each test alone records its own cassette.
        pytester.runpytest("--exllm-record-mode=once", "-k", "test_b").assert_outcomes(passed=1)
        pytester.runpytest("--exllm-record-mode=once", "-k", "test_a").assert_outcomes(passed=1)
        # Together, test_b's first call is answered by the client's cache, not
        # by its cassette; its second plays as usual.
        result = pytester.runpytest("--exllm-record-mode=none", "-p", "no:randomly")
        result.assert_outcomes(passed=2)
        code, out, err = _cli(pytester, capsys, "list", "--stale")
        assert (code, out) == (0, ""), err
        _cli(pytester, capsys, "clean", "--stale-interactions")
        assert (pytester.path / "cassettes/test_live/test_b.json").exists()
        single = pytester.runpytest("--exllm-record-mode=none", "-k", "test_b")
        single.assert_outcomes(passed=1)
