"""What every pytester-built project of the test-cache tests starts from.

A generated project runs in this process (``pytester.runpytest``) or a child,
and must not see the developer's CI variables or exllm_py settings: each
would change the default record mode, the cassette dir or the network block.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exllm_py.testing.settings import CI_VARIABLES
from tests.fakes.provider_server import ProviderServer

__all__ = ["INI", "SETTINGS_ENV", "loopback_server", "plain_project"]

# pytest-asyncio warns in every run that leaves its loop scope unset; hypothesis'
# plugin, re-imported by every in-process run, would triple each run's time.
INI = (
    "[pytest]\n"
    "asyncio_default_fixture_loop_scope = function\n"
    "addopts = -p no:hypothesispytest -p no:cacheprovider\n"
)

#: The environment variables that steer the plugin.
SETTINGS_ENV = (
    "EXLLM_RECORD_MODE",
    "EXLLM_TEST_CACHE_DIR",
    "EXLLM_TEST_CACHE_ENABLED",
    "EXLLM_PASSTHROUGH_HOSTS",
    "EXLLM_BLOCK_NETWORK",
)


def plain_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ini as above, and no CI variable or exllm_py setting from outside."""
    for name in (*CI_VARIABLES, *SETTINGS_ENV):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(INI)


@pytest.fixture
def loopback_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderServer]:
    """A loopback provider the generated tests reach through ``LOOPBACK_URL``."""
    with ProviderServer() as running:
        monkeypatch.setenv("LOOPBACK_URL", running.url)
        yield running
