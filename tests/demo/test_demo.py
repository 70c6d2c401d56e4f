"""The demo runs offline and shows what it says it shows."""

from __future__ import annotations

import pytest
import structlog

import exllm_py
from exllm_py.demo.run import main


class TestDemo:
    """With no API key set, the demo runs against its simulated endpoint."""

    def test_the_demo_runs_offline_and_shows_each_step(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        try:
            assert main() == 0
        finally:
            structlog.reset_defaults()
            exllm_py.telemetry.refresh_logging()
        out = capsys.readouterr().out
        assert "SIMULATED OpenAI-compatible endpoint" in out
        assert "from_cache=False" in out
        assert "from_cache=True" in out
        assert "exllm.cache.hit" in out
        assert "upstream calls made: 1" in out
        assert "replayed stream:" in out
        assert "the same as recorded" in out
