"""The record modes of a cassette, apart from :mod:`~exllm_py.testing.cassette`.

The pytest plugin resolves the run's record mode in every run; this module
imports nothing else, so a run with no ``live_api`` test does not import
the cassette machinery (httpx, the file format, telemetry) for it.
:mod:`exllm_py.testing.cassette` re-exports :class:`RecordMode`.
"""

from __future__ import annotations

import enum

__all__ = ["RecordMode"]


class RecordMode(enum.StrEnum):
    """When a cassette replays and when it records (pytest-recording's names)."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"
