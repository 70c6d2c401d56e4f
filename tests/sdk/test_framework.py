"""A framework on top of an SDK (pydantic-ai on openai) records and replays like the SDK itself.

Not part of ``make test-legacy-sdks``: pydantic-ai needs the current openai.
"""

from __future__ import annotations

import pydantic_ai  # noqa: F401 (kept loaded across the project's runs, as in conftest)

from tests.sdk.project import SDKProject

KEY = "sk-proj-recording-0123456789abcdef"


class TestPydanticAI:
    """An ``Agent.run_sync`` chat records once, then replays offline with no key."""

    def test_records_then_replays_offline(self, project: SDKProject) -> None:
        project.add("pydantic_ai_calls")
        project.record("OPENAI_API_KEY", KEY).assert_outcomes(passed=1)
        assert len(project.server.requests) == 1
        [interaction] = project.cassettes.interactions()
        assert interaction["provider"] == "openai"
        assert KEY not in project.cassettes.text()

        project.replay("--exllm-block-network").assert_outcomes(passed=1)
