"""Tests for exllm_py.cli.inventory: the provider each cassette is listed under."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from tests.cli.conftest import CassetteDir, Result, interaction

LOOPBACK = "http://127.0.0.1:8123"


class TestProviders:
    """A cassette is listed under its recorded providers, else what its requests show, else host."""

    def test_recorded_provider_with_a_base_url_override(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        recorded = attrs.evolve(interaction(f"{LOOPBACK}/v1/chat/completions"), provider="openai")
        cassettes.add("tests/test_sdk.py::test_chat", recorded)
        cassettes.add("tests/test_sdk.py::test_other", interaction(f"{LOOPBACK}/health"))
        listed = cli("list", "--json", "--provider", "openai").json()
        assert isinstance(listed, list)
        assert [entry["test"] for entry in listed] == ["tests/test_sdk.py::test_chat"]

    @pytest.mark.parametrize(
        ("path", "provider"),
        [
            ("/v1/messages", "anthropic"),
            ("/v1beta/models/gemini-2.0-flash:generateContent", "gemini"),
            ("/v1/chat/completions", "openai-compatible"),
            ("/health", "127.0.0.1"),
        ],
    )
    def test_cassettes_recorded_before_the_field(
        self, cli: Callable[..., Result], cassettes: CassetteDir, path: str, provider: str
    ) -> None:
        cassettes.add("tests/test_old.py::test_x", interaction(LOOPBACK + path))
        listed = cli("list", "--json", "--provider", provider).json()
        assert isinstance(listed, list)
        assert [entry["providers"] for entry in listed] == [[provider]]
