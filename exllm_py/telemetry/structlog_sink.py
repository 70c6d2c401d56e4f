"""Logs every telemetry event through structlog (logger name ``exllm_py``).

The library never configures structlog: it logs through whatever the
application set up (and, until it sets something up, only warnings).
Measurements and metadata are logged as they are; the emitters put keys,
names and sizes in them, never prompt text or secrets. Error events also
carry an error's text, which comes from outside (a Redis client, a user's
handler): those lines go through
:func:`~exllm_py.secret_patterns.redact_secrets` first, so a key or a URL
password in such a text never reaches a log.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from exllm_py.secret_patterns import redact_secrets
from exllm_py.telemetry.events import (
    CACHE_ERROR,
    REQUEST_RETRY,
    TEST_CACHE_ERROR,
    TEST_CACHE_SAVE,
    Event,
)

__all__ = ["enabled_for", "handler_failed", "level_of", "log", "refresh"]

_LEVELS: dict[Event, int] = {
    CACHE_ERROR: logging.WARNING,
    # As the official SDKs log theirs: a retry is worth seeing, not yet a problem.
    REQUEST_RETRY: logging.INFO,
    # Every test-cache error is also raised to the test, whose failure says
    # it all: a warning line would only print the same text twice.
    TEST_CACHE_ERROR: logging.INFO,
    TEST_CACHE_SAVE: logging.INFO,
}
# The events whose metadata may hold text from outside (an error's message),
# so a secret: their lines are redacted.
_OUTSIDE_TEXT = frozenset({CACHE_ERROR, TEST_CACHE_ERROR})
# structlog is imported when the first line is logged (or its level read), not
# with this module: every layer imports telemetry, and most processes (a test
# run that never calls a provider) log nothing. structlog's logger, once made:
_made_logger: Any = None
# wrapper class -> the lowest level it lets through; filled on first sight of a class.
_thresholds: dict[type[Any], int] = {}
# Reading structlog's configuration costs about as much as the rest of a cache
# hit's bookkeeping, so the current threshold is re-read at most this often.
_RECHECK_SECONDS = 1.0
_current = [logging.NOTSET, -_RECHECK_SECONDS]  # [threshold, monotonic time read]


def level_of(event: Event) -> int:
    """The log level of ``event``: debug for the frequent ones, warning for errors."""
    return _LEVELS.get(event, logging.DEBUG)


def enabled_for(event: Event) -> bool:
    """Whether structlog, as configured (at most a second ago), would emit ``event``'s line.

    Until the application configures structlog, only warnings and errors are
    logged: structlog's defaults print everything, debug included, to stdout,
    which is no place for a library's cache chatter.
    """
    # Not imported yet: nobody configured it (structlog's configuration is its own).
    # Half imported (another thread is logging its first line): not configured yet either.
    is_configured = getattr(sys.modules.get("structlog"), "is_configured", None)
    if is_configured is None or not is_configured():
        return _LEVELS.get(event, logging.DEBUG) >= logging.WARNING
    now = time.monotonic()
    if now - _current[1] >= _RECHECK_SECONDS:
        refresh(now)
    return _LEVELS.get(event, logging.DEBUG) >= _current[0]


def refresh(now: float | None = None) -> None:
    """Re-read structlog's level now (after reconfiguring structlog, for an immediate effect)."""
    import structlog

    _current[0] = _threshold(structlog.get_config()["wrapper_class"])
    _current[1] = time.monotonic() if now is None else now


def log(event: Event, measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
    if enabled_for(event):
        fields = {**measurements, **metadata}  # one dict: a name in both must not raise
        level = level_of(event)
        if event in _OUTSIDE_TEXT:  # rare lines only: the frequent ones hold no outside text
            fields = {name: _redacted(value) for name, value in fields.items()}
        _logger().log(level, ".".join(event), **fields)


def handler_failed(handler_id: str, event: Event, exc: BaseException) -> None:
    _logger().error(
        "exllm.telemetry.handler_detached",
        handler_id=handler_id,
        failed_event=".".join(event),
        error=redact_secrets(repr(exc)),
    )


def _logger() -> Any:
    global _made_logger
    if _made_logger is None:
        import structlog

        _made_logger = structlog.get_logger("exllm_py")
    return _made_logger


def _redacted(value: Any) -> Any:
    return redact_secrets(value) if isinstance(value, str) else value


def _threshold(wrapper_class: type[Any]) -> int:
    threshold = _thresholds.get(wrapper_class)
    if threshold is None:
        threshold = _probe(wrapper_class)
        _thresholds[wrapper_class] = threshold
    return threshold


def _probe(wrapper_class: type[Any]) -> int:
    # Filtering bound loggers know their level; other wrappers (stdlib
    # BoundLogger, custom ones) filter later, so we must always hand them the event.
    is_enabled_for = getattr(wrapper_class, "is_enabled_for", None)
    if is_enabled_for is None:
        return logging.NOTSET
    probe = wrapper_class(None, [], {})
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
        if probe.is_enabled_for(level):
            return level
    return logging.CRITICAL
