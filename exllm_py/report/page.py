"""The report page: one HTML file holding its styles and its charts, with no script.

The page needs nothing but itself: no network (no CDN, no web font), no
JavaScript, so it can be mailed, attached to a CI run or opened offline.
Its parts, each with an ``id`` a reader's tools (and the tests) can find:

- ``#totals``: tiles with the hit rate, saved cost, hits, misses, puts and
  evictions, each with its exact value in ``data-value``;
- ``#hit-rate-chart`` and ``#saved-cost-chart``: over time, for snapshots;
  for a stats document ``#no-time-series`` says why they are missing;
- ``#models-chart``: the top models by saved cost;
- ``#evictions-chart``: evictions by reason.

Text from the input (the file's name, model names, eviction reasons) is
escaped: by :func:`html.escape` here, by :mod:`exllm_py.report.svg` in the charts.

May import: the other :mod:`exllm_py.report` modules, the standard library.
"""

from __future__ import annotations

import html
from datetime import datetime

from exllm_py.report.axes import Axis, time_axis, value_axis
from exllm_py.report.figures import Figures, merged, sorted_counts, top_models
from exllm_py.report.numbers import count, percent, size, usd, utc
from exllm_py.report.svg import Bar, LinePoint, bar_chart, line_chart

__all__ = ["TITLE", "render"]

TITLE = "exllm_py cache report"

_RATE_AXIS_TICKS = tuple((float(v), f"{v}%") for v in (0, 25, 50, 75, 100))

_STYLE = """
:root { color-scheme: light; }
body { margin: 0; padding: 24px 32px; background: #f6f7f9; color: #1f2933;
  font: 15px/1.45 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
h1 { margin: 0 0 4px; font-size: 24px; }
.meta { margin: 0 0 20px; color: #52606d; }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
#totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 12px; margin-bottom: 20px; }
.tile { background: #fff; border: 1px solid #d9dee4; border-radius: 8px; padding: 10px 14px; }
.tile .name { display: block; color: #52606d; font-size: 13px; }
.tile .shown { display: block; font-size: 22px; font-weight: bold; }
.note { background: #fff8e1; border: 1px solid #f0d58c; border-radius: 8px; padding: 10px 14px; }
figure { background: #fff; border: 1px solid #d9dee4; border-radius: 8px; margin: 0 0 20px;
  padding: 12px 16px; }
figcaption { font-weight: bold; margin-bottom: 8px; }
figcaption .more { font-weight: normal; color: #52606d; }
svg { display: block; width: 100%; height: auto; }
svg text { fill: #1f2933; font-size: 12px; font-family: inherit; }
svg .axis-title { fill: #52606d; }
svg .empty { fill: #7b8794; font-style: italic; }
svg .grid { stroke: #e4e7eb; stroke-width: 1; }
svg .axis { stroke: #9aa5b1; stroke-width: 1; }
svg .series { fill: none; stroke: #2563eb; stroke-width: 2; stroke-linejoin: round; }
svg .area { fill: #2563eb; fill-opacity: 0.15; stroke: none; }
svg .marker { fill: #2563eb; }
svg .bar { fill: #0d9488; }
#evictions-chart svg .bar { fill: #d97706; }
"""


def render(figures: Figures, *, source: str, generated: datetime, top: int = 10) -> str:
    """The page for ``figures``, read from ``source`` (a path, as shown), made at ``generated``."""
    sections = [_header(figures, source, generated), _totals(figures)]
    if figures.over_time:
        sections += _charts_over_time(figures)
    else:
        sections.append(
            '<p class="note" id="no-time-series">This report was made from a stats document: '
            "it holds totals, not their history, so there are no charts over time. For "
            "them, record snapshots with <code>exllm_py.metrics.snapshots.SnapshotRecorder"
            "</code> and make the report from its file.</p>"
        )
    sections += [_models(figures, top), _evictions(figures)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _header(figures: Figures, source: str, generated: datetime) -> str:
    shown = f"<code>{_e(source)}</code>"
    if figures.over_time and figures.points:
        first, last = figures.points[0].at, figures.points[-1].at
        recorders = "" if figures.recorders == 1 else f" from {figures.recorders} recorders"
        what = (
            f"{count(figures.snapshots)} snapshot{'s' if figures.snapshots != 1 else ''}"
            f"{recorders}, {utc(first)} to {utc(last)} UTC"
        )
    else:
        under = f' (the counters under "{_e(figures.under)}")' if figures.under else ""
        what = f"a stats document{under}: totals only"
    made = generated.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return (
        f"<header><h1>{TITLE}</h1>"
        f'<p class="meta" id="source">From {shown}: {what}. Made {_e(made)}.</p></header>'
    )


def _totals(figures: Figures) -> str:
    totals = figures.totals
    tiles = [
        ("hit-rate", "hit rate", totals.hit_rate, percent(totals.hit_rate)),
        ("saved-cost", "saved cost", totals.saved_cost_usd, usd(totals.saved_cost_usd)),
        ("hits", "hits", totals.hits, count(totals.hits)),
        ("misses", "misses", totals.misses, count(totals.misses)),
        ("puts", "puts", totals.puts, count(totals.puts)),
    ]
    evicted = sum(totals.evictions.values())
    tiles.append(("evictions", "evictions", evicted, count(evicted)))
    for name, value in figures.details.items():
        shown = size(value) if name == "bytes" else count(value)
        tiles.append((name, name, value, shown))
    cells = "".join(
        f'<div class="tile" id="total-{key}" data-value="{_e(_raw(value))}">'
        f'<span class="name">{label}</span><span class="shown">{_e(shown)}</span></div>'
        for key, label, value, shown in tiles
    )
    return f'<section id="totals">{cells}</section>'


def _charts_over_time(figures: Figures) -> list[str]:
    points = merged(figures.points)
    when = time_axis(points[0].at, points[-1].at, "time (UTC)")
    rates = [
        LinePoint(
            p.at,
            None if p.hit_rate is None else p.hit_rate * 100,
            f"{utc(p.at)} UTC: {percent(p.hit_rate)} of {count(p.lookups)} lookups",
        )
        for p in points
    ]
    rate_axis = Axis(0.0, 100.0, _RATE_AXIS_TICKS, "hit rate")
    saved = [
        LinePoint(p.at, p.saved_cost_usd, f"{utc(p.at)} UTC: {usd(p.saved_cost_usd)} saved")
        for p in points
    ]
    saved_axis = value_axis(max(p.saved_cost_usd for p in points), "saved (USD)", usd)
    return [
        _figure(
            "hit-rate-chart",
            "Hit rate per interval",
            line_chart(rates, when, rate_axis, title="Hit rate per interval"),
        ),
        _figure(
            "saved-cost-chart",
            "Cost saved by hits, cumulative",
            line_chart(saved, when, saved_axis, title="Cost saved, cumulative", area=True),
        ),
    ]


def _models(figures: Figures, top: int) -> str:
    shown, left_out = top_models(figures.totals.models, top)
    bars = [
        Bar(name, m.saved_cost_usd, f"{usd(m.saved_cost_usd)} · {count(m.hits)} hits")
        for name, m in shown
    ]
    more = f' <span class="more">({left_out} more not shown)</span>' if left_out else ""
    title = f"Top models by saved cost{more}"
    return _figure("models-chart", title, bar_chart(bars, title="Top models by saved cost"))


def _evictions(figures: Figures) -> str:
    reasons = sorted_counts(figures.totals.evictions.items())
    bars = [Bar(reason, n, count(n)) for reason, n in reasons]
    return _figure(
        "evictions-chart", "Evictions by reason", bar_chart(bars, title="Evictions by reason")
    )


def _figure(element_id: str, caption: str, chart: str) -> str:
    # ``caption`` is the page's own markup; the chart escaped its own text.
    return f'<figure id="{element_id}"><figcaption>{caption}</figcaption>{chart}</figure>'


def _raw(value: float | None) -> str:
    return "" if value is None else repr(value)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
