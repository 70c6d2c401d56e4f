"""What a test run did with its cassettes: the counts and lines of the terminal summary.

Each ``live_api`` test leaves a :class:`CassetteOutcome` when its cassette
closes: how many of its requests were replayed, recorded, passed through
live (hosts in ``exllm_passthrough_hosts``) and missing (``RecordingNotFound``),
and whether its cassette file was created, rewritten or extended. A
:class:`RunReport` adds them up for the run; under ``pytest -n`` each
worker sends its outcomes to the controller as plain JSON, which merges
them, so the summary always speaks for the whole run.

The summary is one line when nothing went live and nothing is missing, so a
CI log shows at a glance that the run was offline; ``-v`` (or ``-rA``)
adds a line per cassette written and per test that missed or went live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

__all__ = ["CassetteOutcome", "RunReport", "Written"]

#: What became of a cassette file when its test ended.
Written = Literal["", "created", "rewritten", "extended"]


@attrs.frozen
class CassetteOutcome:
    """One ``live_api`` test's use of its cassette."""

    cassette: str
    test_id: str
    replayed: int = 0
    recorded: int = 0
    #: Requests to passthrough hosts: sent live, never recorded.
    live: int = 0
    missing: int = 0
    written: Written = ""

    def to_json(self) -> dict[str, Any]:
        """A plain dict, for the trip from an xdist worker to the controller."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CassetteOutcome:
        """The outcome :meth:`to_json` described."""
        fields = {field.name for field in attrs.fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in fields})


@attrs.define
class RunReport:
    """The outcomes of one run's ``live_api`` tests, in the order their cassettes closed."""

    outcomes: list[CassetteOutcome] = attrs.field(factory=list)
    #: ``live_api`` tests run while the test cache was disabled: all of them live.
    uncached_tests: int = 0

    def add(self, outcome: CassetteOutcome) -> None:
        """Count one test's cassette use."""
        self.outcomes.append(outcome)

    def to_json(self) -> dict[str, Any]:
        """A plain dict of the whole report."""
        return {
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
            "uncached_tests": self.uncached_tests,
        }

    def merge_json(self, data: Mapping[str, Any]) -> None:
        """Add the report another process described with :meth:`to_json`."""
        self.outcomes.extend(CassetteOutcome.from_json(item) for item in data.get("outcomes", ()))
        self.uncached_tests += int(data.get("uncached_tests", 0))

    def total(self, name: Literal["replayed", "recorded", "live", "missing"]) -> int:
        """The run's total of one count."""
        return sum(getattr(outcome, name) for outcome in self.outcomes)

    def lines(self, *, detailed: bool) -> list[str]:
        """The terminal summary: empty when no ``live_api`` test ran."""
        lines = []
        if self.uncached_tests:
            lines.append(
                f"test cache disabled: {_count(self.uncached_tests, 'live_api test')} "
                "called the real APIs unrecorded"
            )
        if not self.outcomes:
            return lines
        lines.insert(0, self._headline(detailed=detailed))
        if detailed:
            lines.extend(self._details())
        return lines

    def _headline(self, *, detailed: bool) -> str:
        tests = _count(len(self.outcomes), "live_api test")
        replayed, recorded = self.total("replayed"), self.total("recorded")
        live, missing = self.total("live"), self.total("missing")
        written = [outcome for outcome in self.outcomes if outcome.written]
        if not (recorded or live or missing or written):
            return f"{tests}: {_count(replayed, 'interaction')} replayed; nothing went live"
        parts = [
            f"{replayed} replayed",
            f"{recorded} recorded",
            f"{live} live (passthrough)",
            f"{missing} missing",
        ]
        line = f"{tests}: {', '.join(parts)}; {_written_summary(written)}"
        if not detailed:
            line += " (-v lists them)"
        return line

    def _details(self) -> Iterable[str]:
        for outcome in self.outcomes:
            if outcome.written:
                yield f"  {outcome.written:<9} {outcome.cassette} ({outcome.recorded} recorded)"
        for outcome in self.outcomes:
            if outcome.missing:
                yield f"  missing   {outcome.test_id}: {_count(outcome.missing, 'request')}"
        for outcome in self.outcomes:
            if outcome.live:
                yield f"  live      {outcome.test_id}: {_count(outcome.live, 'request')}"


def _written_summary(written: list[CassetteOutcome]) -> str:
    if not written:
        return "no cassette written"
    kinds = {kind: 0 for kind in ("created", "rewritten", "extended")}
    for outcome in written:
        kinds[outcome.written] += 1
    detail = ", ".join(f"{number} {kind}" for kind, number in kinds.items() if number)
    return f"{_count(len(written), 'cassette')} written ({detail})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
