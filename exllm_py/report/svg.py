"""The report's charts, drawn as SVG text: a line (or area) chart and a horizontal bar chart.

Each chart is one ``<svg>`` element with a ``viewBox`` and a fixed size, so
that a browser lays it out without any script; the page's CSS lets it
shrink to a narrow window. Colours and fonts come from the page's
stylesheet, through the class names given here (``grid``, ``series``,
``area``, ``bar``, ...).

Every text given to a chart (titles, labels, tooltips) is escaped here:
callers pass plain text, such as a model name read from a file, and never
markup.

May import: :mod:`exllm_py.report.axes`, the standard library and attrs.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence

import attrs

from exllm_py.report.axes import Axis

__all__ = ["Bar", "Frame", "LinePoint", "bar_chart", "line_chart"]

# Beyond this many points a marker per point is clutter (and file size); the line remains.
_MAX_MARKERS = 300
_BAR_ROW = 30.0
_BAR_LABEL_CHARS = 34


@attrs.frozen
class Frame:
    """A chart's canvas in pixels: its whole size, and the margins around the plot area."""

    width: float = 960.0
    height: float = 280.0
    left: float = 72.0
    right: float = 24.0
    top: float = 16.0
    bottom: float = 48.0

    @property
    def plot_left(self) -> float:
        return self.left

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def plot_top(self) -> float:
        return self.top

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    def x(self, value: float, axis: Axis) -> float:
        """Where ``value`` on ``axis`` falls, left to right in the plot area."""
        return _scale(value, axis, self.plot_left, self.plot_right)

    def y(self, value: float, axis: Axis) -> float:
        """Where ``value`` on ``axis`` falls, bottom to top in the plot area."""
        return _scale(value, axis, self.plot_bottom, self.plot_top)


@attrs.frozen
class LinePoint:
    """A point of a line chart; ``y=None`` is a gap in the line. ``note``: its tooltip."""

    x: float
    y: float | None
    note: str = ""


@attrs.frozen
class Bar:
    """One bar: its label, its length's value, and the text written at its end."""

    label: str
    value: float
    text: str


def line_chart(
    points: Sequence[LinePoint],
    x_axis: Axis,
    y_axis: Axis,
    *,
    title: str,
    area: bool = False,
    frame: Frame = Frame(),
) -> str:
    """A line through ``points`` (an area under it with ``area``), with both axes drawn."""
    parts = [*_y_grid(frame, y_axis), *_x_ticks(frame, x_axis)]
    for run in _runs(points):
        coords = [(frame.x(p.x, x_axis), frame.y(y, y_axis)) for p, y in run]
        if area and len(coords) > 1:
            base = frame.y(y_axis.lo, y_axis)
            outline = [(coords[0][0], base), *coords, (coords[-1][0], base)]
            parts.append(f'<polygon class="area" points="{_path(outline)}"/>')
        if len(coords) > 1:
            parts.append(f'<polyline class="series" points="{_path(coords)}"/>')
    if not any(p.y is not None for p in points):
        parts.append(_no_data(frame))
    if len(points) <= _MAX_MARKERS:
        parts.extend(_markers(frame, points, x_axis, y_axis))
    return _svg(frame.width, frame.height, title, parts, "line-chart")


def bar_chart(bars: Sequence[Bar], *, title: str, width: float = 960.0) -> str:
    """Horizontal bars in the order given, each labelled, its length to scale, its value written."""
    label_width, text_width = 280.0, 160.0
    height = max(len(bars), 1) * _BAR_ROW + 8
    longest = max((bar.value for bar in bars), default=0.0)
    room = width - label_width - text_width
    parts = []
    for row, bar in enumerate(bars):
        middle = 4 + row * _BAR_ROW + _BAR_ROW / 2
        length = room * bar.value / longest if longest > 0 else 0.0
        shown = _shortened(bar.label)
        parts.append(
            f'<g class="bar-row"><title>{_text(bar.label)}: {_text(bar.text)}</title>'
            f'<text class="label" x="{_n(label_width - 8)}" y="{_n(middle)}" '
            f'text-anchor="end" dominant-baseline="middle">{_text(shown)}</text>'
            f'<rect class="bar" x="{_n(label_width)}" y="{_n(middle - 9)}" '
            f'width="{_n(max(length, 1.0))}" height="18"/>'
            f'<text class="value" x="{_n(label_width + length + 6)}" y="{_n(middle)}" '
            f'dominant-baseline="middle">{_text(bar.text)}</text></g>'
        )
    if not bars:
        parts.append(
            f'<text class="empty" x="{_n(width / 2)}" y="{_n(height / 2)}" '
            f'text-anchor="middle" dominant-baseline="middle">none recorded</text>'
        )
    return _svg(width, height, title, parts, "bar-chart")


def _scale(value: float, axis: Axis, start: float, end: float) -> float:
    if axis.hi == axis.lo:
        return (start + end) / 2
    return start + (value - axis.lo) / (axis.hi - axis.lo) * (end - start)


def _runs(points: Sequence[LinePoint]) -> Iterator[list[tuple[LinePoint, float]]]:
    """The stretches of points between gaps (each point with its ``y``, known not ``None``)."""
    run: list[tuple[LinePoint, float]] = []
    for point in points:
        if point.y is None:
            if run:
                yield run
            run = []
        else:
            run.append((point, point.y))
    if run:
        yield run


def _y_grid(frame: Frame, axis: Axis) -> Iterator[str]:
    for value, label in axis.ticks:
        y = _n(frame.y(value, axis))
        yield (
            f'<line class="grid" x1="{_n(frame.plot_left)}" x2="{_n(frame.plot_right)}" '
            f'y1="{y}" y2="{y}"/>'
            f'<text class="tick" x="{_n(frame.plot_left - 8)}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{_text(label)}</text>'
        )
    middle = _n((frame.plot_top + frame.plot_bottom) / 2)
    yield (
        f'<text class="axis-title" x="16" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 16 {middle})">{_text(axis.title)}</text>'
    )


def _x_ticks(frame: Frame, axis: Axis) -> Iterator[str]:
    bottom = frame.plot_bottom
    yield (
        f'<line class="axis" x1="{_n(frame.plot_left)}" x2="{_n(frame.plot_right)}" '
        f'y1="{_n(bottom)}" y2="{_n(bottom)}"/>'
    )
    for value, label in axis.ticks:
        x = _n(frame.x(value, axis))
        yield (
            f'<line class="axis" x1="{x}" x2="{x}" y1="{_n(bottom)}" y2="{_n(bottom + 5)}"/>'
            f'<text class="tick" x="{x}" y="{_n(bottom + 18)}" '
            f'text-anchor="middle">{_text(label)}</text>'
        )
    yield (
        f'<text class="axis-title" x="{_n((frame.plot_left + frame.plot_right) / 2)}" '
        f'y="{_n(frame.height - 6)}" text-anchor="middle">{_text(axis.title)}</text>'
    )


def _markers(frame: Frame, points: Sequence[LinePoint], x: Axis, y: Axis) -> Iterator[str]:
    for point in points:
        if point.y is not None:
            yield (
                f'<circle class="marker" cx="{_n(frame.x(point.x, x))}" '
                f'cy="{_n(frame.y(point.y, y))}" r="3"><title>{_text(point.note)}</title></circle>'
            )


def _no_data(frame: Frame) -> str:
    return (
        f'<text class="empty" x="{_n((frame.plot_left + frame.plot_right) / 2)}" '
        f'y="{_n((frame.plot_top + frame.plot_bottom) / 2)}" text-anchor="middle">'
        "no lookups recorded</text>"
    )


def _svg(width: float, height: float, title: str, parts: Sequence[str], kind: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{kind}" role="img" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}">'
        f"<title>{_text(title)}</title>{''.join(parts)}</svg>"
    )


def _shortened(label: str) -> str:
    flat = " ".join(label.split())
    if len(flat) <= _BAR_LABEL_CHARS:
        return flat
    return flat[: _BAR_LABEL_CHARS - 1] + "…"


def _path(coords: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)


def _n(value: float) -> str:
    """A coordinate to a tenth of a pixel, without trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(text: str) -> str:
    return html.escape(text, quote=True)
