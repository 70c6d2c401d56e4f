"""The structlog sink while another thread is still importing structlog for its first line."""

from __future__ import annotations

import sys
import types

import pytest

from exllm_py import telemetry
from exllm_py.telemetry import structlog_sink


class TestHalfImportedStructlog:
    """A structlog module still being imported counts as not configured: nothing raises."""

    def test_a_half_imported_structlog_is_not_configured_yet(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # What sys.modules holds while the first import runs: the module, none of its names yet.
        monkeypatch.setitem(sys.modules, "structlog", types.ModuleType("structlog"))
        assert structlog_sink.enabled_for(telemetry.CACHE_HIT) is False
        assert structlog_sink.enabled_for(telemetry.CACHE_ERROR) is True
        assert telemetry.wanted(telemetry.CACHE_MISS) is False
