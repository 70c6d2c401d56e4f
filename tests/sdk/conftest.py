"""Fixtures for the SDK tests: the loopback provider answering as the SDKs' tests need."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import anthropic  # noqa: F401 (kept loaded for the projects' runs, as httpx2 below)
import openai  # noqa: F401 (the same)
import pytest

from tests.fakes import ProviderServer
from tests.sdk.project import SDKProject, sdk_responder

# Imported here, once: pytester's in-process runs forget the modules each run
# imports, so the record run and the replay run would otherwise each import
# their own httpx2, and a response built from one copy's classes fails the
# other copy's isinstance checks.
with contextlib.suppress(ImportError):
    import httpx2  # noqa: F401 (kept loaded for the projects' runs)

__all__ = ["project", "server"]

# pytest-asyncio warns in every run that leaves its loop scope unset; hypothesis'
# plugin, re-imported by every in-process run, would triple each run's time.
_INI = (
    "[pytest]\n"
    "asyncio_default_fixture_loop_scope = function\n"
    "addopts = -p no:hypothesispytest -p no:cacheprovider\n"
)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    """A loopback provider: chat, streams, tool calls, and one 500 before each ``flaky`` ask."""
    with ProviderServer() as running:
        running.route(re.compile(".*"), sdk_responder())
        yield running


@pytest.fixture
def project(
    pytester: pytest.Pytester, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> SDKProject:
    """A pytest project calling the SDKs through ``server``, recorded then replayed."""
    for name in ("CI", "EXLLM_RECORD_MODE", "EXLLM_TEST_CACHE_DIR", "EXLLM_TEST_CACHE_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(_INI)
    monkeypatch.setenv("LOOPBACK_URL", server.url)
    return SDKProject(pytester, server, monkeypatch)
