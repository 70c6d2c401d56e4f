"""Tests for the plugin's trimming of failures: the user who asks for every frame gets them.

Run as real pytest sessions with ``pytester``; the generated test fails
with ``RecordingNotFound`` (replay only, no cassette).
"""

from __future__ import annotations

import pytest

from tests.testing.pytester_project import plain_project

CALL = """
import os, pytest, exllm_py

@pytest.mark.live_api
def test_capital():
    exllm_py.chat(
        "openai", [{"role": "user", "content": "Hello"}],
        base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback",
    )
"""

# A frame of the library below the test, which a trimmed failure leaves out
# (tests/testing/test_failure_output.py).
LIBRARY_FRAME = "exllm_py/testing/core.py"


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


@pytest.mark.usefixtures("loopback_server")
class TestEveryFrameWhenAskedFor:
    """``--tb=native`` and ``--pdb`` keep the library's frames in a missing recording's failure."""

    def test_native_tracebacks(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(test_live=CALL)
        result = pytester.runpytest("--exllm-record-mode=none", "--tb=native")
        result.assert_outcomes(failed=1)
        assert LIBRARY_FRAME in result.stdout.str()

    def test_the_debugger(self, pytester: pytest.Pytester) -> None:
        # A child with its stdin closed: the debugger reads end-of-file and quits,
        # after pytest has printed the traceback it stopped on.
        pytester.makepyfile(test_live=CALL)
        result = pytester.runpytest_subprocess("--exllm-record-mode=none", "--pdb", timeout=120)
        output = result.stdout.str()
        assert "RecordingNotFound" in output
        assert LIBRARY_FRAME in output
