"""The telemetry bus: attach, detach, emit; failing handlers are detached; events are logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from exllm_py import Client, MockProvider, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.telemetry import structlog_sink

HIT = telemetry.CACHE_HIT


@pytest.fixture(autouse=True)
def _no_leftover_handlers() -> Iterator[None]:
    yield
    for handler_id in list(telemetry.handlers()):
        telemetry.detach(handler_id)


class TestAttachDetach:
    """Handlers receive the events they attached for, until detached."""

    def test_a_handler_receives_its_events(self) -> None:
        seen: list[Any] = []
        telemetry.attach("h", [HIT], lambda *args: seen.append(args))
        telemetry.emit(HIT, {"duration_ns": 5}, {"key": "k"})
        telemetry.emit(telemetry.CACHE_MISS, {"duration_ns": 5}, {"key": "k"})
        assert seen == [(HIT, {"duration_ns": 5}, {"key": "k"})]

    def test_detach_stops_delivery(self) -> None:
        seen: list[Any] = []
        telemetry.attach("h", [HIT], lambda *args: seen.append(args))
        assert telemetry.detach("h") is True
        assert telemetry.detach("h") is False
        telemetry.emit(HIT, {}, {})
        assert seen == []

    def test_attaching_again_under_an_id_replaces_the_handler(self) -> None:
        first: list[Any] = []
        second: list[Any] = []
        telemetry.attach("h", [HIT], lambda *args: first.append(args))
        telemetry.attach("h", [HIT], lambda *args: second.append(args))
        telemetry.emit(HIT, {}, {})
        assert (len(first), len(second)) == (0, 1)

    def test_attach_needs_events(self) -> None:
        with pytest.raises(ValueError, match="at least one event"):
            telemetry.attach("h", [], lambda *args: None)


class TestFailingHandlers:
    """A handler that raises is detached and logged, and never breaks the call."""

    def test_the_call_succeeds_and_the_handler_is_detached(self) -> None:
        def broken(*args: Any) -> None:
            raise RuntimeError("handler bug")

        telemetry.attach("broken", [telemetry.CACHE_MISS], broken)
        client = Client(cache_strategy=ProductionStrategy(MemoryStore()), mock=MockProvider("ok"))
        with capture_logs() as logs:
            response = client.chat("mock", [{"role": "user", "content": "Hi"}])
        assert response.content == "ok"
        assert "broken" not in telemetry.handlers()
        failure = next(log for log in logs if log["event"] == "exllm.telemetry.handler_detached")
        assert failure["handler_id"] == "broken"
        assert "handler bug" in failure["error"]


class TestLogging:
    """Every event is logged through structlog, without prompt text or secrets."""

    def test_cache_events_are_logged_at_debug_with_their_key(self) -> None:
        client = Client(cache_strategy=ProductionStrategy(MemoryStore()), mock=MockProvider("ok"))
        secret_prompt = [{"role": "user", "content": "my password is hunter2"}]
        with capture_logs() as logs:
            client.chat("mock", secret_prompt, api_key="sk-secret-value")
            client.chat("mock", secret_prompt, api_key="sk-secret-value")
        events = [log["event"] for log in logs]
        assert events == ["exllm.cache.miss", "exllm.cache.put", "exllm.cache.hit"]
        assert all(log["log_level"] == "debug" for log in logs)
        assert len(logs[-1]["key"]) == 64
        assert "hunter2" not in repr(logs)
        assert "sk-secret-value" not in repr(logs)

    def test_events_are_not_wanted_when_debug_is_off_and_nobody_listens(self) -> None:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        telemetry.refresh_logging()
        try:
            assert telemetry.wanted(HIT) is False
            assert structlog_sink.enabled_for(telemetry.CACHE_ERROR) is True
            telemetry.attach("h", [HIT], lambda *args: None)
            assert telemetry.wanted(HIT) is True
        finally:
            structlog.reset_defaults()
            telemetry.refresh_logging()

    def test_errors_log_at_warning(self) -> None:
        assert structlog_sink.level_of(telemetry.CACHE_ERROR) == logging.WARNING
        assert structlog_sink.level_of(HIT) == logging.DEBUG


class TestUnconfiguredStructlog:
    """Until the application configures structlog, only warnings are logged."""

    def test_cache_chatter_stays_out_of_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        structlog.reset_defaults()
        client = Client(cache_strategy=ProductionStrategy(MemoryStore()), mock=MockProvider("ok"))
        client.chat("mock", [{"role": "user", "content": "Hi"}])
        client.chat("mock", [{"role": "user", "content": "Hi"}])
        assert "exllm.cache" not in capsys.readouterr().out
        assert telemetry.wanted(HIT) is False
        assert structlog_sink.enabled_for(telemetry.CACHE_ERROR) is True

    def test_an_event_whose_fields_share_a_name_is_still_logged(self) -> None:
        with capture_logs() as logs:
            telemetry.emit(HIT, {"key": "from-measurements"}, {"key": "k", "provider": "p"})
        assert logs[-1]["key"] == "k"
