"""A pytest plugin the orphan check loads into ``pytest --collect-only``: what was collected.

``exllm-cache clean --orphans`` runs pytest on the project's test modules
with ``-p exllm_py.cli.collection_report_plugin`` and the path of a report
file in ``EXLLM_CACHE_COLLECT_REPORT``. The plugin writes there, as JSON,
the node ids pytest collected and the outcome of every collector
(``passed``, ``failed``, ``skipped``), so that a module that failed to
import, or skipped itself, is never mistaken for a module without tests.
Without the variable the plugin does nothing.

Only tests marked ``live_api`` own cassettes: the report lists them apart
(``live_api``), so a test whose marker was removed leaves its cassette an
orphan. Every test counts as existing the moment pytest collects it
(``pytest_itemcollected``), whatever later hooks do with the final list: a
conftest's ``pytest_collection_modifyitems`` that drops tests with
``items[:] = [...]`` (live tests unless ``--live`` is given, say) reports
nothing, and ``-m``/``-k``/``--deselect`` deselect. Those tests exist all
the same, and their cassettes are not orphans.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["REPORT_ENV", "CollectionRecorder", "pytest_configure"]

REPORT_ENV = "EXLLM_CACHE_COLLECT_REPORT"
_DETAIL_CHARS = 2000
_MARKER = "live_api"


def pytest_configure(config: pytest.Config) -> None:
    target = os.environ.get(REPORT_ENV)
    if target:
        config.pluginmanager.register(CollectionRecorder(Path(target)), "exllm-cache-collector")


class CollectionRecorder:
    """Keeps the collection's outcomes and node ids; writes them when collection ends."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.outcomes: dict[str, str] = {}
        self.details: dict[str, str] = {}
        self.collected: dict[str, None] = {}  # node ids, in collection order
        self.marked: dict[str, None] = {}  # those marked live_api
        self.deselected: list[str] = []

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        self._collected(item)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.outcomes[report.nodeid] = report.outcome
        if not report.passed:
            self.details[report.nodeid] = report.longreprtext[-_DETAIL_CHARS:]

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self.deselected.extend(item.nodeid for item in items)
        for item in items:
            self._collected(item)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # A conftest may add the marker in pytest_collection_modifyitems: look again.
        for item in session.items:
            self._collected(item)
        document = {
            "items": [*self.collected, *(item.nodeid for item in session.items)],
            "live_api": list(self.marked),
            "deselected": self.deselected,
            "outcomes": self.outcomes,
            "details": self.details,
        }
        self.target.write_text(json.dumps(document), encoding="utf-8")

    def _collected(self, item: pytest.Item) -> None:
        self.collected[item.nodeid] = None
        if item.get_closest_marker(_MARKER) is not None:
            self.marked[item.nodeid] = None
