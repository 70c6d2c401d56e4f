"""Tests for the plugin's refusal of ``live_api`` marker arguments it does not take.

Run as real pytest sessions with ``pytester``.
"""

from __future__ import annotations

import pytest

from tests.testing.pytester_project import plain_project

POSITIONAL = "import pytest\n@pytest.mark.live_api('x-user-id', 2)\ndef test_x():\n    pass\n"


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


class TestPositionalArguments:
    """A positional marker argument errors the test, naming the arguments, without a traceback."""

    def test_the_error_names_what_was_given(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(POSITIONAL)
        result = pytester.runpytest("--exllm-record-mode=once")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "test_the_error_names_what_was_given.py::test_x: @pytest.mark.live_api takes "
                "only the keyword arguments ignore_body_paths, ignore_headers, "
                "passthrough_hosts; got 'x-user-id', 2"
            ]
        )
        # pytrace=False: the plugin's own frames are not the user's business.
        result.stdout.no_fnmatch_line("*pytest.fail(*")
