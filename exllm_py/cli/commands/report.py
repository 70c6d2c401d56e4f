"""``exllm-cache report INPUT --html OUT``: the production cache's report as one HTML page.

``INPUT`` is a snapshot file (``SnapshotRecorder``) or a stats document;
the work is in :mod:`exllm_py.report`. The page is written atomically: a
browser reloading it never reads half a file.
"""

from __future__ import annotations

import argparse

from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.locate import Location
from exllm_py.report.figures import figures_of
from exllm_py.report.numbers import percent, usd
from exllm_py.report.page import render
from exllm_py.report.reading import read_input
from exllm_py.testing.files import write_atomically

__all__ = ["run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Read ``options.input``, write the page to ``options.html``, say what it shows."""
    source = console.cwd / options.input
    target = console.cwd / options.html
    figures = figures_of(read_input(source))
    page = render(figures, source=console.shown(source), generated=console.now, top=options.top)
    try:
        write_atomically(target, page.encode("utf-8"))
    except OSError as exc:
        raise CommandFailed(f"cannot write the report to {target}: {exc.strerror or exc}") from exc
    totals = figures.totals
    over = f"{figures.snapshots} snapshots" if figures.over_time else "a stats document"
    console.say(
        f"wrote {console.shown(target)} from {over}: hit rate {percent(totals.hit_rate)}, "
        f"{usd(totals.saved_cost_usd)} saved"
    )
    return 0
