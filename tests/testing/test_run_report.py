"""Tests for exllm_py.testing.run_report: a worker's report reaches the controller as JSON.

Under ``pytest -n`` each worker sends its report as plain JSON; the
controller merges what every worker sent into its own, so the summary
speaks for the whole run. The reports here are built as the plugin builds
them, one outcome per ``live_api`` test, and cross a real JSON round trip.
"""

from __future__ import annotations

import json
from typing import Any

from exllm_py.testing.run_report import CassetteOutcome, RunReport


def _sent(report: RunReport) -> dict[str, Any]:
    """What a worker's report is on the controller's side: its JSON, read back."""
    decoded: dict[str, Any] = json.loads(json.dumps(report.to_json()))
    return decoded


def _report(*outcomes: CassetteOutcome, uncached_tests: int = 0) -> RunReport:
    report = RunReport(uncached_tests=uncached_tests)
    for outcome in outcomes:
        report.add(outcome)
    return report


REPLAYED = CassetteOutcome("cassettes/t/test_a.json", "tests/t.py::test_a", replayed=2)
CREATED = CassetteOutcome(
    "cassettes/t/test_b.json", "tests/t.py::test_b", recorded=1, written="created"
)
MISSED = CassetteOutcome("cassettes/t/test_c.json", "tests/t.py::test_c", live=1, missing=3)


class TestMergingWorkerReports:
    """The controller's report adds each worker's outcomes and uncached tests to its own."""

    def test_a_workers_report_adds_to_the_controllers(self) -> None:
        controller = _report(REPLAYED, uncached_tests=1)
        controller.merge_json(_sent(_report(CREATED, MISSED, uncached_tests=2)))
        assert controller == _report(REPLAYED, CREATED, MISSED, uncached_tests=3)

    def test_the_merged_summary_is_the_one_a_single_process_prints(self) -> None:
        controller = RunReport()
        for worker in (_report(REPLAYED), _report(CREATED, MISSED, uncached_tests=1)):
            controller.merge_json(_sent(worker))
        whole = _report(REPLAYED, CREATED, MISSED, uncached_tests=1)
        for detailed in (False, True):
            assert controller.lines(detailed=detailed) == whole.lines(detailed=detailed)

    def test_a_worker_that_ran_no_live_api_test_adds_nothing(self) -> None:
        controller = _report(REPLAYED, uncached_tests=1)
        controller.merge_json(_sent(RunReport()))
        controller.merge_json({})  # a worker whose report left out what it had none of
        assert controller == _report(REPLAYED, uncached_tests=1)


class TestOutcomesAsJson:
    """An outcome survives the trip as JSON, and a field it does not know is left behind."""

    def test_every_field_comes_back(self) -> None:
        for outcome in (REPLAYED, CREATED, MISSED):
            assert CassetteOutcome.from_json(json.loads(json.dumps(outcome.to_json()))) == outcome

    def test_a_field_from_a_newer_worker_is_ignored(self) -> None:
        sent = {**CREATED.to_json(), "retried": 2}
        assert CassetteOutcome.from_json(sent) == CREATED


class TestTheSummaryLines:
    """The summary opens with the headline; a disabled cache's count follows it."""

    def test_headline_first_then_the_tests_that_went_unrecorded(self) -> None:
        report = _report(REPLAYED, CREATED, MISSED, uncached_tests=2)
        assert report.lines(detailed=False) == [
            "3 live_api tests: 2 replayed, 1 recorded, 1 live (passthrough), 3 missing; "
            "1 cassette written (1 created) (-v lists them)",
            "test cache disabled: 2 live_api tests called the real APIs unrecorded",
        ]

    def test_written_cassettes_are_counted_by_kind_in_a_fixed_order(self) -> None:
        extended = CassetteOutcome("cassettes/t/d.json", "tests/t.py::d", written="extended")
        rewritten = CassetteOutcome("cassettes/t/e.json", "tests/t.py::e", written="rewritten")
        headline = _report(extended, rewritten, CREATED, extended).lines(detailed=False)[0]
        assert headline.endswith(
            "; 4 cassettes written (1 created, 1 rewritten, 2 extended) (-v lists them)"
        )

    def test_only_replays_say_nothing_went_live(self) -> None:
        assert _report(REPLAYED).lines(detailed=False) == [
            "1 live_api test: 2 interactions replayed; nothing went live"
        ]
