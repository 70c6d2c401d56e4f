"""Tests for exllm_py.telemetry.structlog_sink: error lines never log a credential."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from exllm_py import telemetry

# Built at run time so that no key-shaped literal sits in the repository.
PROJECT_KEY = "sk-" + "proj-" + "A1b2C3d4e5F6g7H8i9J0_k-L" * 3
OUTSIDE_TEXT = f"redis said: AUTH failed for redis://:S3cret-pw@cache:6379 with {PROJECT_KEY}"


@pytest.fixture(autouse=True)
def _no_leftover_handlers() -> Iterator[None]:
    yield
    for handler_id in list(telemetry.handlers()):
        telemetry.detach(handler_id)


class TestErrorLinesAreRedacted:
    """Text that came from outside (an error, a failing handler) is redacted before it is logged."""

    @pytest.mark.parametrize("event", [telemetry.CACHE_ERROR, telemetry.TEST_CACHE_ERROR])
    def test_an_error_event(self, event: tuple[str, ...]) -> None:
        with capture_logs() as logs:
            telemetry.emit(event, {}, {"store": "redis:app", "error": OUTSIDE_TEXT})
        [line] = logs
        assert "S3cret" not in line["error"]
        assert PROJECT_KEY not in line["error"]
        assert line["store"] == "redis:app"

    def test_a_failing_handler(self) -> None:
        def broken(*args: Any) -> None:
            raise RuntimeError(OUTSIDE_TEXT)

        telemetry.attach("broken", [telemetry.CACHE_MISS], broken)
        with capture_logs() as logs:
            telemetry.emit(telemetry.CACHE_MISS, {"duration_ns": 1}, {"key": "k"})
        failure = next(log for log in logs if log["event"] == "exllm.telemetry.handler_detached")
        assert "AUTH failed" in failure["error"]
        assert "S3cret" not in failure["error"]
        assert PROJECT_KEY not in failure["error"]
