"""What the plugin imports: a run of plain tests does not import the client stack.

The plugin is loaded in every pytest run of a project that installs
exllm_py, most of whose tests never call a provider; importing the client,
the pipeline, the providers, the caches and structlog would slow each such
run down. Each check runs in a fresh interpreter, since this one has
imported all of them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# Modules a plain test run must leave unimported.
CLIENT_STACK = (
    "exllm_py.cache",
    "exllm_py.cache.production",
    "exllm_py.client",
    "exllm_py.pipeline",
    "exllm_py.providers",
    "exllm_py.testing.cassette",
    "exllm_py.testing.strategy",
    "structlog",
)
# Optional extras, which not even ``import exllm_py`` may import.
EXTRAS = ("httpx2", "prometheus_client", "redis")


def imported_after(code: str) -> set[str]:
    """The modules of ``CLIENT_STACK + EXTRAS`` a fresh interpreter holds after ``code``."""
    probe = (
        f"{code}\nimport sys\nprint(*[m for m in {CLIENT_STACK + EXTRAS!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_importing_the_plugin_imports_no_client_stack() -> None:
    assert imported_after("import exllm_py.testing.plugin") == set()


def test_importing_the_package_imports_nothing_until_used() -> None:
    assert imported_after("import exllm_py") == set()


def test_the_package_names_still_work_when_used() -> None:
    code = (
        "import exllm_py\n"
        "assert exllm_py.chat('mock', [{'role': 'user', 'content': 'Hi'}]).content == "
        "'mock response to: Hi'\n"
        "assert exllm_py.errors.ConfigurationError and exllm_py.telemetry.attach\n"
        "from exllm_py import Client, Usage\n"
    )
    imported = imported_after(code)
    assert "exllm_py.client" in imported
    assert imported.isdisjoint(EXTRAS)


PLAIN_TESTS = f"""
import os
import sys

CLIENT_STACK = {CLIENT_STACK!r}


def test_plain():
    assert [name for name in CLIENT_STACK if name in sys.modules] == []
    assert os.environ["EXLLM_CACHE_STRATEGY"] == "test"


def test_plain_again():
    assert [name for name in CLIENT_STACK if name in sys.modules] == []
"""


def test_a_run_of_plain_tests_imports_no_client_stack(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only this plugin, so that no other installed plugin imports these modules.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("EXLLM_CACHE_STRATEGY", raising=False)
    pytester.makepyfile(test_plain=PLAIN_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "exllm_py.testing.plugin", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
