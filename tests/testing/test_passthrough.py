"""Tests for exllm_py.testing.passthrough: which hosts a live_api test leaves unrecorded."""

from __future__ import annotations

import httpx
import pytest

from exllm_py.testing.passthrough import PASSTHROUGH_ENV, parse_hosts, passes_through


class TestParseHosts:
    """Entries from every source add up, split on commas and spaces, lowercased."""

    def test_sources_and_environment_add_up(self) -> None:
        hosts = parse_hosts(
            ["LocalHost", "127.0.0.1:8080"],
            ("api.internal",),
            env={PASSTHROUGH_ENV: " a.example, b.example  c.example"},
        )
        assert hosts == {
            "localhost",
            "127.0.0.1:8080",
            "api.internal",
            "a.example",
            "b.example",
            "c.example",
        }

    def test_bracketed_ipv6_alone_is_the_bare_host(self) -> None:
        assert parse_hosts(["[::1]", "[::1]:8080", "::1"]) == {"::1", "[::1]:8080"}

    def test_nothing_set_is_empty(self) -> None:
        assert parse_hosts([], env={}) == frozenset()


class TestPassesThrough:
    """A host entry matches any port; a host:port entry that port only (default ports too)."""

    @pytest.mark.parametrize(
        ("entry", "url", "expected"),
        [
            ("127.0.0.1", "http://127.0.0.1:5000/x", True),
            ("localhost", "http://LOCALHOST:5000/x", True),
            ("127.0.0.1:5000", "http://127.0.0.1:5000/x", True),
            ("127.0.0.1:5000", "http://127.0.0.1:5001/x", False),
            ("api.example.com:443", "https://api.example.com/v1", True),
            ("api.example.com:80", "https://api.example.com/v1", False),
            ("::1", "http://[::1]:9000/", True),
            ("[::1]:9000", "http://[::1]:9000/", True),
            ("127.0.0.1", "http://127.0.0.2/", False),
            ("example.com", "https://api.example.com/", False),
        ],
    )
    def test_matching(self, entry: str, url: str, expected: bool) -> None:
        assert passes_through(parse_hosts([entry]), httpx.URL(url)) is expected
