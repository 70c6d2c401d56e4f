"""The ``live`` fixture: a client for the project's own ``live_api`` tests.

These tests call the real providers' endpoints. How a run reaches them
depends on the test's cassette and on the keys in the environment:

- The cassette replays (``--exllm-record-mode=none``, as in CI, or ``once``
  with the cassette present): a plain client; no key, no server, no network.
- The cassette records and the provider's real API key is set: a plain
  client with that key, so the real API answers. To re-record for real::

      OPENAI_API_KEY=sk-... ANTHROPIC_API_KEY=sk-ant-... GEMINI_API_KEY=... \\
          pytest tests/live --exllm-record-mode=rewrite

- The cassette records and no key is set: the loopback provider server
  answers, through :class:`~tests.live.loopback.LoopbackRouter`, with the
  replies each test scripts; the cassette's ``source`` says so. This is how
  the committed cassettes were made, on a machine without internet.

The suite's root conftest removes provider keys from the environment before
every test, so the keys are read here, once, when this module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import exllm_py
from exllm_py.providers.registry import PROVIDERS
from exllm_py.testing.cassette import Cassette
from tests.fakes import ProviderServer
from tests.live.loopback import Live, LoopbackRouter

__all__ = ["live"]

# Captured before any test runs: the root conftest unsets these per test.
_REAL_KEYS = {
    name: value
    for spec in PROVIDERS.values()
    for name in spec.key_envs
    if (value := os.environ.get(name, "").strip())
}


@pytest.fixture
def live(request: pytest.FixtureRequest, exllm_cassette: Cassette | None) -> Iterator[Live]:
    """The client the test class's ``PROVIDER`` is called through (see the module docstring)."""
    provider: str = request.cls.PROVIDER
    key_envs = PROVIDERS[provider].key_envs
    has_key = any(name in _REAL_KEYS for name in key_envs)
    if exllm_cassette is not None and exllm_cassette.records and not has_key:
        with ProviderServer() as server:
            router = LoopbackRouter(server.url)
            # Any key will do for the loopback server; it is redacted on record anyway.
            env = {key_envs[0]: "loopback-key-not-a-secret"}
            with exllm_py.Client(transport=router, async_transport=router, env=env) as client:
                yield Live(client, server, exllm_cassette)
        return
    with exllm_py.Client(env=_REAL_KEYS) as client:
        yield Live(client, None, exllm_cassette)
