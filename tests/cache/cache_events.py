"""The production cache's hit, miss and put events, as a test sees them (the ``events`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import telemetry

__all__ = ["Events", "events"]

#: Each event as it was emitted: (name, measurements, metadata).
Events = list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]


@pytest.fixture
def events() -> Iterator[Events]:
    """Every ``hit``, ``miss`` and ``put`` event of the test, in order."""
    seen: Events = []
    names = [telemetry.CACHE_HIT, telemetry.CACHE_MISS, telemetry.CACHE_PUT]
    telemetry.attach("test-cache-events", names, lambda *event: seen.append(event))
    yield seen
    telemetry.detach("test-cache-events")
