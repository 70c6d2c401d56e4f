"""The cassette filters of ``list`` and ``clean``; a cassette is selected when it matches all.

- ``--provider P``: it calls provider ``P``: as each interaction recorded it (so a
  base URL override still counts, see :mod:`exllm_py.testing.provider_label`), else
  as the request shows it, else its host ``P``.
- ``--older-than AGE``: its newest interaction was recorded more than AGE
  ago. The newest, so that a cassette a test extended recently is not
  counted stale.
- ``--unused AGE``: no test run played or recorded it for AGE. Played times
  come from the plugin's usage log, merged across runs; with no log at
  all nothing can be said (a fresh clone has none), so ``clean`` refuses.
- ``--orphans``: its test no longer exists (:mod:`exllm_py.cli.orphans`).

The cheap filters run first; the orphan check (which runs pytest) only
looks at the cassettes the others selected.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO

import attrs

from exllm_py.cli.args import Age
from exllm_py.cli.context import CommandFailed
from exllm_py.cli.inventory import CassetteInfo, Inventory
from exllm_py.cli.orphans import find_orphans
from exllm_py.cli.pytest_collection import Collector, collect_tests
from exllm_py.cli.render import ago

__all__ = ["Filters", "Match", "Selection", "select"]


@attrs.frozen
class Filters:
    """The filters given on the command line (``None`` / ``False``: not given)."""

    provider: str | None = None
    older_than: Age | None = None
    unused: Age | None = None
    orphans: bool = False

    @classmethod
    def from_options(cls, options: argparse.Namespace) -> Filters:
        """The filters of a parsed ``list`` or ``clean`` command line."""
        provider: str | None = getattr(options, "provider", None)
        older_than: Age | None = options.older_than
        unused: Age | None = options.unused
        orphans: bool = options.orphans
        return cls(provider, older_than, unused, orphans)

    def __bool__(self) -> bool:
        return bool(self.provider or self.older_than or self.unused or self.orphans)

    def describe(self) -> str:
        """The filters as the command line wrote them."""
        parts = []
        if self.provider:
            parts.append(f"--provider {self.provider}")
        if self.older_than:
            parts.append(f"--older-than {self.older_than}")
        if self.unused:
            parts.append(f"--unused {self.unused}")
        if self.orphans:
            parts.append("--orphans")
        return " ".join(parts)


@attrs.frozen
class Match:
    """A selected cassette, and why each filter selected it."""

    info: CassetteInfo
    reasons: tuple[str, ...] = ()


@attrs.frozen
class Selection:
    """The selected cassettes; and those the orphan check could not judge (never selected)."""

    matches: tuple[Match, ...]
    unknown: Mapping[str, str] = attrs.field(factory=dict)


def select(
    inventory: Inventory,
    filters: Filters,
    *,
    now: datetime,
    root: Path,
    env: Mapping[str, str],
    progress: TextIO,
    require_usage: bool = True,
    collect: Collector = collect_tests,
) -> Selection:
    """The cassettes of ``inventory`` that match every one of ``filters``.

    With ``--unused`` and no usage file, ``CommandFailed`` unless
    ``require_usage`` is false (then nothing counts as played).
    """
    if filters.unused and require_usage and not inventory.has_usage_file:
        raise CommandFailed(
            f"--unused needs the usage file the pytest plugin writes "
            f"({inventory.usage_file}), and there is none: run the test suite "
            "first, so that it records which cassettes its tests play"
        )
    candidates: list[Match] = []
    for info in inventory.cassettes:
        reasons = _cheap_reasons(info, filters, now)
        if reasons is not None:
            candidates.append(Match(info, reasons))
    if not filters.orphans or not candidates:
        return Selection(tuple(candidates))
    report = find_orphans(
        [match.info for match in candidates],
        root=root,
        cassette_dir=inventory.cassette_dir,
        env=env,
        progress=progress,
        everything=inventory.cassettes,
        collect=collect,
    )
    selected = tuple(
        Match(match.info, (*match.reasons, f"orphan: {report.orphans[match.info.name]}"))
        for match in candidates
        if match.info.name in report.orphans
    )
    return Selection(selected, report.unknown)


def _cheap_reasons(info: CassetteInfo, filters: Filters, now: datetime) -> tuple[str, ...] | None:
    """Why ``info`` matches the filters other than ``--orphans``; ``None`` when one fails."""
    reasons: list[str] = []
    if filters.provider and filters.provider.lower() not in info.providers:
        return None
    if filters.older_than:
        # A cassette whose recording time is unknown (unreadable) is never "old".
        if info.newest is None or now - info.newest <= filters.older_than.delta:
            return None
        reasons.append(f"recorded {ago(info.newest, now)}")
    if filters.unused:
        if now - info.last_used <= filters.unused.delta:
            return None
        never = " (never played)" if info.last_played is None else ""
        reasons.append(f"last used {ago(info.last_used, now)}{never}")
    return tuple(reasons)
