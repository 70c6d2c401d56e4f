"""Readable failures: a missing recording or a refused save, as the user's terminal shows them.

Each test runs a generated project with ``pytester`` and reads its output
as a whole: how long it is, what it shows first and last, and what it
never shows (the library's frames, a log line repeating the error).
"""

from __future__ import annotations

import pytest

from tests.fakes import ProviderServer
from tests.testing.pytester_project import plain_project

CALL = """
import os, pytest, exllm_py

@pytest.mark.live_api
def test_capital():
    exllm_py.chat(
        "openai", [{"role": "user", "content": "PROMPT"}],
        base_url=os.environ["LOOPBACK_URL"],
        api_key=os.environ.get("OPENAI_API_KEY", "sk-loopback"),
    )
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


def _call(prompt: str) -> str:
    return CALL.replace("PROMPT", prompt)


class TestRecordingNotFound:
    """A missing recording fails from the test's line: request and diff first, the fix last."""

    def test_a_changed_prompt_fails_briefly_with_the_diff(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=_call("Capital of France?"))
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=1)
        pytester.makepyfile(test_live=_call("Capital of Spain?"))
        result = pytester.runpytest("--exllm-record-mode=none")
        result.assert_outcomes(failed=1)
        output = result.outlines
        start = output.index(next(line for line in output if "FAILURES" in line))
        end = output.index(next(line for line in output if "short test summary" in line))
        failure = output[start:end]
        text = "\n".join(failure)
        assert len(failure) < 40, text
        # The test's own line, and none of the library's or httpx's frames.
        assert "test_live.py:" in text
        assert "exllm_py/" not in text, text
        assert "httpx/" not in text, text
        request = next(i for i, line in enumerate(failure) if "no recording matches POST" in line)
        diff = next(i for i, line in enumerate(failure) if "Capital of France?" in line)
        fix = next(i for i, line in enumerate(failure) if "To record it" in line)
        assert request < diff < fix
        assert f":{loopback_server.port}/" in failure[request]
        assert "--record-mode=new_episodes" in failure[fix]

    @pytest.mark.usefixtures("loopback_server")
    @pytest.mark.parametrize("option", ["--full-trace", "--tb=long"])
    def test_every_frame_when_asked_for(self, pytester: pytest.Pytester, option: str) -> None:
        pytester.makepyfile(test_live=_call("Hello"))
        result = pytester.runpytest("--exllm-record-mode=none", option)
        result.assert_outcomes(failed=1)
        assert "exllm_py/testing/core.py" in result.stdout.str()

    @pytest.mark.usefixtures("loopback_server")
    def test_a_missing_cassette_names_record_mode_once(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=_call("Hello"))
        result = pytester.runpytest("--exllm-record-mode=none")
        result.assert_outcomes(failed=1)
        fix = next(line for line in result.outlines if "To record it" in line)
        assert "--record-mode=once" in fix

    @pytest.mark.usefixtures("loopback_server")
    def test_no_log_line_repeats_the_error(self, pytester: pytest.Pytester) -> None:
        # A fresh process: structlog as an application that never configured it
        # has it (a test in this process may have configured it for itself).
        pytester.makepyfile(test_live=_call("Hello"))
        result = pytester.runpytest_subprocess("--exllm-record-mode=none")
        result.assert_outcomes(failed=1)
        assert not [line for line in result.outlines if "test_cache.error" in line]
        assert "Captured stdout" not in result.stdout.str()


class TestRefusedSave:
    """A save refused for a key in the recording is said once, not once per chained exception."""

    def test_the_refusal_is_printed_once(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        key = "sk-proj-abcdefghijklmnopqrstuvwx1234"
        monkeypatch.setenv("OPENAI_API_KEY", key)
        with ProviderServer(text=f"your key is {key}") as server:
            monkeypatch.setenv("LOOPBACK_URL", server.url)
            pytester.makepyfile(test_live=_call("Echo my key"))
            result = pytester.runpytest_subprocess("--exllm-record-mode=once", "-rN")
        result.assert_outcomes(passed=1, errors=1)
        said = [line for line in result.outlines if "was not saved" in line]
        assert len(said) == 1, result.stdout.str()
        assert "OPENAI_API_KEY" in said[0]
        assert key not in result.stdout.str()
        assert "During handling" not in result.stdout.str()


SDK_CALL = """
import os, pytest, openai

@pytest.mark.live_api
def test_capital():
    client = openai.OpenAI(base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback")
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
    )
"""


class TestThroughAnSDK:
    """An SDK that wraps the refusal (and retries it) still shows it first, counted once."""

    @pytest.mark.usefixtures("loopback_server")
    def test_the_wrapped_refusal_shows_without_library_frames(
        self, pytester: pytest.Pytester
    ) -> None:
        pytest.importorskip("openai")
        pytester.makepyfile(test_live=SDK_CALL)
        result = pytester.runpytest("--exllm-record-mode=none")
        result.assert_outcomes(failed=1)
        output = result.outlines
        start = output.index(next(line for line in output if "FAILURES" in line))
        end = output.index(next(line for line in output if "short test summary" in line))
        text = "\\n".join(output[start:end])
        assert "no recording matches POST" in text
        assert "exllm_py/" not in text, text
        assert "httpx2/" not in text, text
        assert "1 missing" in next(line for line in output if line.startswith("exllm_py: 1 "))

    @pytest.mark.usefixtures("loopback_server")
    def test_a_refusal_wrapped_by_the_callers_library_shows_first(
        self, pytester: pytest.Pytester
    ) -> None:
        # What SDKs on httpx do (openai 1.x: APIConnectionError from the error).
        wrapped = _call("Hello").replace(
            "    exllm_py.chat(\n", "    try:\n        exllm_py.chat(\n"
        ).rstrip() + (
            "\n    except Exception as exc:\n"
            '        raise RuntimeError("Connection error.") from exc\n'
        )
        pytester.makepyfile(test_live=wrapped)
        result = pytester.runpytest("--exllm-record-mode=none")
        result.assert_outcomes(failed=1)
        text = result.stdout.str()
        assert "exllm_py/" not in text, text
        refusal = text.index("no recording matches POST")
        assert refusal < text.index("RuntimeError: Connection error.")

    @pytest.mark.usefixtures("loopback_server")
    def test_a_refusal_the_callers_library_was_handling_shows_first(
        self, pytester: pytest.Pytester
    ) -> None:
        # Raised while handling the refusal, without "from": chained as its context only.
        wrapped = _call("Hello").replace(
            "    exllm_py.chat(\n", "    try:\n        exllm_py.chat(\n"
        ).rstrip() + ('\n    except Exception:\n        raise RuntimeError("Connection error.")\n')
        pytester.makepyfile(test_live=wrapped)
        result = pytester.runpytest("--exllm-record-mode=none")
        result.assert_outcomes(failed=1)
        text = result.stdout.str()
        assert "exllm_py/" not in text, text
        refusal = text.index("no recording matches POST")
        assert refusal < text.index("RuntimeError: Connection error.")


LOOPED_CHAIN = """
import pytest

@pytest.mark.live_api
def test_looped():
    first, second = ValueError("first of a loop"), KeyError("second of a loop")
    first.__cause__, second.__cause__ = second, first
    raise first
"""


class TestOtherFailures:
    """A failure with no missing recording in its chain is reported as pytest reports it."""

    def test_an_exception_chain_that_loops_back_still_fails_the_test(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(test_live=LOOPED_CHAIN)
        # A child process with a bound: looking for a refusal in a chain that
        # loops must stop where it has been before, or the run never ends.
        result = pytester.runpytest_subprocess("--exllm-record-mode=none", timeout=60)
        result.assert_outcomes(failed=1)
        assert "ValueError: first of a loop" in result.stdout.str()
