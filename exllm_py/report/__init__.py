"""The cache report: snapshots or a stats document in, one self-contained HTML page out.

``exllm-cache report INPUT --html OUT`` is its command. What lives here:

- :mod:`~exllm_py.report.reading`: the input file, its kind told by its
  content (snapshot lines or a stats document), and the errors that name it;
- :mod:`~exllm_py.report.figures`: what the page shows, computed: totals,
  the hit rate and saved cost over time, the top models;
- :mod:`~exllm_py.report.axes` and :mod:`~exllm_py.report.numbers`: tick
  marks, and numbers, money and times written for people;
- :mod:`~exllm_py.report.svg`: the charts, drawn as inline SVG (no script,
  no network: the page opens anywhere, offline);
- :mod:`~exllm_py.report.page`: the HTML around them.

Every string from the input reaches the page through ``html.escape``.

May import: :mod:`exllm_py.metrics.snapshot_format`, :mod:`exllm_py.errors`,
the standard library, attrs and orjson; never the CLI, the cache or the
pipeline: a report is drawn from a file, not from a running cache.
"""

from __future__ import annotations

__all__: list[str] = []
