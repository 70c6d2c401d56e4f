"""Suite-wide fixtures: every test starts from a clean environment and default client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

import exllm_py.client
from exllm_py import telemetry

# No per-example deadline: on a loaded 2-core CI machine an example that
# replays a cassette can take 300 ms once and 100 ms the next, and hypothesis
# reports that as a flaky failure. The properties are about outcomes, not time.
settings.register_profile("suite", deadline=None)
# `make mutate` runs each test more than once in one process, with a new class
# instance each time, which hypothesis would otherwise flag as a health problem.
settings.register_profile(
    "mutation", deadline=None, suppress_health_check=[HealthCheck.differing_executors]
)
settings.load_profile(os.environ.get("EXLLM_HYPOTHESIS_PROFILE", "suite"))

# Provider keys and endpoints a developer may have exported: no test may use them.
_PROVIDER_ENV = [
    f"{prefix}_{suffix}"
    for prefix in (
        "OPENAI",
        "ANTHROPIC",
        "GEMINI",
        "GOOGLE",
        "GROQ",
        "MISTRAL",
        "OPENROUTER",
        "XAI",
        "OLLAMA",
        "LMSTUDIO",
    )
    for suffix in ("API_KEY", "BASE_URL")
]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    configured = structlog.is_configured()
    yield
    exllm_py.client.reset_default_client()
    # structlog.testing.capture_logs leaves structlog marked as configured
    # (with its defaults: every level, to stdout), and code that leaves a
    # configured structlog alone, such as the CLI's, would print debug lines
    # into a later test's output. Unconfigured before the test: unconfigured after.
    if not configured and structlog.is_configured():
        structlog.reset_defaults()
        telemetry.refresh_logging()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when a whole component's tests did not run, never as a quiet count."""
    from tests.redis_server import MISSING_REASON

    skipped = terminalreporter.stats.get("skipped", [])
    missing = [report for report in skipped if MISSING_REASON in str(report.longrepr)]
    if missing:
        terminalreporter.write_sep(
            "!", f"{len(missing)} Redis tests did NOT run: {MISSING_REASON}", red=True, bold=True
        )
