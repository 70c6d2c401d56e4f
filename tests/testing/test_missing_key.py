"""Tests for exllm_py.testing.missing_key: a missing key, restated for a test that records."""

from __future__ import annotations

from pathlib import Path

import pytest

from exllm_py.errors import MissingAPIKey
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.missing_key import explain_missing_key


class TestExplainMissingKey:
    """The restated error says why recording needs a key, naming what it can, and the way out."""

    def test_what_is_known_is_named(self, tmp_path: Path) -> None:
        cassette = Cassette.open(tmp_path / "c.json", mode="all", test_id="tests/t.py::test_x")
        error = MissingAPIKey("no key", provider="openai", env_var="OPENAI_API_KEY")
        explained = explain_missing_key(error, cassette)
        assert str(explained).splitlines()[:2] == [
            "no API key for openai, and recording needs one: record mode 'all' calls the "
            "provider for every request of tests/t.py::test_x.",
            "To record, set OPENAI_API_KEY (or pass api_key=... to the call) and run again.",
        ]
        assert (explained.provider, explained.env_var) == ("openai", "OPENAI_API_KEY")

    @pytest.mark.parametrize(
        ("mode", "why", "way_out"),
        [
            (
                "once",
                "the test has no cassette yet ({path}), and record mode 'once' records it",
                "With --record-mode=none (replay only, the default under CI) this test would "
                "fail here too, with RecordingNotFound: there is nothing recorded to replay. "
                "Record it once where the key is set, and commit the cassette.",
            ),
            (
                "all",
                "record mode 'all' calls the provider for every request of the test",
                "To replay what the cassette holds instead, use --record-mode=none.",
            ),
        ],
    )
    def test_what_is_not_known_is_named_in_general_terms(
        self, tmp_path: Path, mode: str, why: str, way_out: str
    ) -> None:
        cassette = Cassette.open(tmp_path / "c.json", mode=mode)
        explained = explain_missing_key(MissingAPIKey("no key"), cassette)
        reason = why.format(path=cassette.path)
        assert str(explained).splitlines() == [
            f"no API key for the provider, and recording needs one: {reason}.",
            "To record, set its API key (or pass api_key=... to the call) and run again.",
            way_out,
        ]
        assert (explained.provider, explained.env_var) == ("", "")
