"""``exllm-cache report --html``: reading the input, drawing the charts, the page in a browser."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exllm_py import Client, MockProvider
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.metrics.snapshot_format import Counters, ModelCounts, Snapshot
from exllm_py.metrics.snapshots import SnapshotRecorder
from exllm_py.report.axes import Axis, time_axis, value_axis
from exllm_py.report.figures import Point, figures_of, merged
from exllm_py.report.numbers import percent, usd
from exllm_py.report.page import render
from exllm_py.report.reading import (
    NOT_TTL,
    ReportInputError,
    SnapshotInput,
    StatsInput,
    read_input,
)
from exllm_py.report.svg import Bar, Frame, LinePoint, bar_chart, line_chart
from tests.cli.conftest import CassetteDir, Result
from tests.clocks import FakeClock
from tests.dom_tree import parse_html
from tests.fakes.provider_server import ProviderServer
from tests.headless_chromium import rendered_dom, screenshot
from tests.png_pixels import read_png

SVG = "{http://www.w3.org/2000/svg}"
START = 1_700_000_000.0
WINDOW = (1280, 1600)
# The page's chart colours (its stylesheet): the line, the model bars, the eviction bars.
LINE_BLUE = (0x25, 0x63, 0xEB)
MODEL_TEAL = (0x0D, 0x94, 0x88)
EVICTION_AMBER = (0xD9, 0x77, 0x06)
# Text a hostile or careless caller could put in a model name or an eviction reason.
SCRIPT_MODEL = "evil/<script>document.body.dataset.pwned = 'script'</script>"
IMG_MODEL = "evil/<img src=x onerror=\"document.body.dataset.pwned = 'img'\">"
ATTRIBUTE_REASON = '"><svg onload="document.body.dataset.pwned = \'svg\'">'
# Run in the browser after the page, by a test only: writes each chart's and
# label's laid-out size where the DOM dump shows it.
MEASURE = """
for (const el of document.querySelectorAll('svg, .tile, figure, svg text')) {
  const box = el.getBoundingClientRect();
  el.setAttribute('data-rendered', Math.round(box.width) + 'x' + Math.round(box.height));
}
"""


def snapshot(
    at: float,
    hits: int,
    misses: int,
    *,
    saved: float = 0.0,
    recorder: str = "r1",
    evictions: dict[str, int] | None = None,
    models: dict[str, ModelCounts] | None = None,
) -> Snapshot:
    counters = Counters(hits, misses, misses, saved, evictions or {}, models or {})
    return Snapshot(at, counters, recorder)


def write_lines(path: Path, snapshots: Sequence[Snapshot]) -> Path:
    path.write_bytes(b"".join(s.to_line() for s in snapshots))
    return path


def page_of(path: Path, *, top: int = 10) -> str:
    generated = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    return render(figures_of(read_input(path)), source=path.name, generated=generated, top=top)


def rendered(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def svg_tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def coords(points: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in points.split())]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


class TestSnapshotsToPoints:
    """Each line adds what its recorder counted since its previous line: hits, lookups, savings."""

    def test_a_point_holds_its_intervals_hits_and_lookups(self, tmp_path: Path) -> None:
        cumulative = [(0, 2), (3, 3), (3, 3), (10, 4)]  # (hits, misses) after each minute
        lines = [snapshot(START + 60 * i, h, m) for i, (h, m) in enumerate(cumulative)]
        figures = figures_of(read_input(write_lines(tmp_path / "s.jsonl", lines)))
        previous = (0, 0)
        for point, (hits, misses) in zip(figures.points, cumulative, strict=True):
            added_hits, added_misses = hits - previous[0], misses - previous[1]
            assert (point.hits, point.lookups) == (added_hits, added_hits + added_misses)
            previous = (hits, misses)
        assert [p.hit_rate for p in figures.points] == [0.0, 3 / 4, None, 7 / 8]
        assert (figures.totals.hits, figures.totals.misses) == cumulative[-1]

    def test_saved_cost_is_cumulative(self, tmp_path: Path) -> None:
        saved = [0.0, 0.5, 0.75, 2.0]
        lines = [snapshot(START + i, i, 1, saved=s) for i, s in enumerate(saved)]
        figures = figures_of(read_input(write_lines(tmp_path / "s.jsonl", lines)))
        assert [p.saved_cost_usd for p in figures.points] == saved

    def test_a_restarted_process_adds_to_the_totals(self, tmp_path: Path) -> None:
        before = snapshot(START, 8, 2, saved=1.0, models={"m": ModelCounts(8, 1.0)})
        after = snapshot(
            START + 60, 1, 1, saved=0.5, recorder="r2", models={"m": ModelCounts(1, 0.5)}
        )
        figures = figures_of(read_input(write_lines(tmp_path / "s.jsonl", [before, after])))
        assert (figures.totals.hits, figures.totals.misses) == (9, 3)
        assert figures.totals.models == {"m": ModelCounts(9, 1.5)}
        assert figures.points[-1].saved_cost_usd == 1.5
        assert figures.recorders == 2

    def test_counts_that_go_down_under_one_name_start_again_from_zero(self, tmp_path: Path) -> None:
        lines = [snapshot(START, 5, 5), snapshot(START + 60, 2, 1)]
        figures = figures_of(read_input(write_lines(tmp_path / "s.jsonl", lines)))
        assert (figures.totals.hits, figures.totals.misses) == (7, 6)
        assert figures.points[-1].hit_rate == 2 / 3

    def test_workers_sharing_a_file_add_up(self, tmp_path: Path) -> None:
        lines = [
            snapshot(START, 1, 1, recorder="a", evictions={"lru": 1}),
            snapshot(START + 1, 4, 0, recorder="b"),
            snapshot(START + 60, 3, 1, recorder="a", evictions={"lru": 2, "ttl": 1}),
            snapshot(START + 61, 5, 1, recorder="b", evictions={"ttl": 2}),
        ]
        figures = figures_of(read_input(write_lines(tmp_path / "s.jsonl", lines)))
        assert (figures.totals.hits, figures.totals.misses) == (8, 2)
        assert figures.totals.evictions == {"lru": 2, "ttl": 3}
        assert [(p.hits, p.lookups) for p in figures.points] == [(1, 2), (4, 4), (2, 2), (1, 2)]

    def test_lines_are_taken_in_time_order(self, tmp_path: Path) -> None:
        lines = [snapshot(START + 120, 6, 2), snapshot(START, 1, 1), snapshot(START + 60, 3, 1)]
        figures = figures_of(read_input(write_lines(tmp_path / "s.jsonl", lines)))
        assert [p.at for p in figures.points] == [START, START + 60, START + 120]
        assert [p.hits for p in figures.points] == [1, 2, 3]

    def test_a_hand_written_line_needs_only_at_and_counts(self, tmp_path: Path) -> None:
        path = tmp_path / "s.jsonl"
        path.write_text('{"at": 1700000000, "hits": 3, "misses": 1}\n')
        read = read_input(path)
        assert isinstance(read, SnapshotInput)
        assert read.snapshots[0].counters == Counters(hits=3, misses=1)


class TestMerging:
    """A long recording is drawn from at most a given number of points, with exact hit rates."""

    @given(
        intervals=st.lists(
            st.tuples(st.integers(1, 600), st.integers(0, 50), st.integers(0, 50)),
            min_size=1,
            max_size=300,
        ),
        limit=st.integers(1, 40),
    )
    def test_merging_keeps_every_count(
        self, intervals: list[tuple[int, int, int]], limit: int
    ) -> None:
        points, at, saved = [], START, 0.0
        for gap, hits, misses in intervals:
            at, saved = at + gap, saved + hits * 0.01
            points.append(Point(at, hits, hits + misses, saved))
        fewer = merged(points, limit)
        assert len(fewer) <= limit
        assert sum(p.hits for p in fewer) == sum(p.hits for p in points)
        assert sum(p.lookups for p in fewer) == sum(p.lookups for p in points)
        assert fewer[-1].at == points[-1].at
        assert fewer[-1].saved_cost_usd == points[-1].saved_cost_usd
        assert [p.at for p in fewer] == sorted(p.at for p in fewer)


class TestStatsDocuments:
    """A stats document gives totals and no time series."""

    def test_a_strategys_stats_as_json(self, tmp_path: Path) -> None:
        strategy = ProductionStrategy(MemoryStore(max_entries=1, cleanup_interval=None))
        with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
            for text in ("a", "a", "a", "b"):
                client.chat("mock", [{"role": "user", "content": text}])
        stats = strategy.stats()
        path = tmp_path / "stats.json"
        path.write_bytes(orjson.dumps(attrs.asdict(stats), option=orjson.OPT_INDENT_2))
        figures = figures_of(read_input(path))
        assert not figures.over_time
        assert figures.points == ()
        assert (figures.totals.hits, figures.totals.misses) == (stats.hits, stats.misses)
        assert figures.totals.evictions == {NOT_TTL: stats.evictions}
        assert figures.details == {"entries": stats.entries, "bytes": stats.bytes, "expirations": 0}

    def test_expirations_are_the_ttl_reason(self, tmp_path: Path) -> None:
        path = tmp_path / "stats.json"
        path.write_bytes(orjson.dumps({"hits": 1, "misses": 1, "evictions": 2, "expirations": 5}))
        assert figures_of(read_input(path)).totals.evictions == {NOT_TTL: 2, "ttl": 5}

    def test_counters_under_a_key_are_found(self, tmp_path: Path) -> None:
        path = tmp_path / "stats.json"
        document = {"cassettes": 3, "redis": {"hits": 7, "misses": 3, "saved_cost_usd": 0.25}}
        path.write_bytes(orjson.dumps(document))
        read = read_input(path)
        assert isinstance(read, StatsInput)
        assert read.under == "redis"
        assert (read.counters.hits, read.counters.saved_cost_usd) == (7, 0.25)

    def test_the_page_says_why_there_are_no_charts_over_time(self, tmp_path: Path) -> None:
        path = tmp_path / "stats.json"
        path.write_bytes(orjson.dumps({"hits": 3, "misses": 1, "evictions": 0}))
        page = parse_html(page_of(path))
        assert "SnapshotRecorder" in page.by_id("no-time-series").text()
        assert not [n for n in page.walk() if n.attributes.get("id") == "hit-rate-chart"]
        assert page.by_id("total-hit-rate").attributes["data-value"] == "0.75"


class TestInputErrors:
    """An input of neither kind fails naming the file, the line, and what was expected."""

    def test_an_empty_file(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.jsonl"
        path.write_text("\n\n")
        with pytest.raises(ReportInputError, match=r"empty\.jsonl is empty; expected snapshot"):
            read_input(path)

    def test_a_line_that_is_not_json(self, tmp_path: Path) -> None:
        path = write_lines(tmp_path / "s.jsonl", [snapshot(START, 1, 1)])
        with path.open("a") as file:
            file.write("{truncated\n")
        with pytest.raises(ReportInputError, match=r"s\.jsonl, line 2: not JSON"):
            read_input(path)

    @pytest.mark.parametrize(
        ("line", "problem"),
        [
            ('{"at": 1, "hits": -1}', '"hits" must be a count'),
            ('{"at": "noon", "hits": 1}', '"at" must be a finite number'),
            ('{"at": 1, "models": {"m": {"hits": true}}}', '"models.m.hits" must be a count'),
            ('{"at": 1, "format": 2}', "format 2 is not one this version reads"),
        ],
    )
    def test_a_line_with_a_bad_field(self, tmp_path: Path, line: str, problem: str) -> None:
        path = tmp_path / "s.jsonl"
        path.write_text(f'{{"at": 0, "hits": 0}}\n{line}\n')
        with pytest.raises(ReportInputError, match=r"line 2: not a snapshot: ") as caught:
            read_input(path)
        assert problem in str(caught.value)

    def test_cassette_stats_have_no_counters(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        cassettes.add("tests/test_a.py::test_one")
        path = tmp_path / "stats.json"
        path.write_text(cli("stats", "--json").out)
        with pytest.raises(ReportInputError, match="with no cache counters") as caught:
            read_input(path)
        assert str(path) in str(caught.value)

    def test_a_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ReportInputError, match=r"cannot read .*nothing\.jsonl"):
            read_input(tmp_path / "nothing.jsonl")


class TestAxes:
    """Axes start at zero, end on a round number above the data, and tick on round UTC times."""

    @given(st.floats(min_value=1e-6, max_value=1e9))
    def test_a_value_axis_covers_the_largest_value(self, largest: float) -> None:
        axis = value_axis(largest, "v", str)
        assert axis.lo == 0
        assert largest <= axis.hi < largest * 1.5 + 1e-9
        assert 2 <= len(axis.ticks) <= 6
        assert axis.ticks[-1][0] == pytest.approx(axis.hi)

    def test_a_value_axis_of_nothing_still_has_room(self) -> None:
        assert value_axis(0.0, "v", str).hi > 0

    def test_dollar_ticks_are_round(self) -> None:
        axis = value_axis(0.76, "saved", usd)
        assert [label for _, label in axis.ticks] == ["$0.00", "$0.20", "$0.40", "$0.60", "$0.80"]

    def test_time_ticks_fall_on_round_minutes_inside_the_range(self) -> None:
        start = datetime(2025, 1, 31, 22, 14, 20, tzinfo=UTC).timestamp()
        axis = time_axis(start, start + 3540, "time")
        assert all(start <= value <= start + 3540 for value, _ in axis.ticks)
        assert [label for _, label in axis.ticks] == [
            "22:20", "22:30", "22:40", "22:50", "23:00", "23:10",
        ]  # fmt: skip

    def test_a_span_of_days_is_labelled_by_date(self) -> None:
        start = datetime(2025, 1, 1, 5, tzinfo=UTC).timestamp()
        ticks = time_axis(start, start + 10 * 86_400, "t").ticks
        assert 3 <= len(ticks) <= 6
        for value, label in ticks:
            moment = datetime.fromtimestamp(value, UTC)
            assert (moment.hour, moment.minute) == (0, 0)
            assert label == moment.strftime("%Y-%m-%d")


class TestGeometry:
    """Values land inside the plot box, scaled: the axis' ends at the box's edges."""

    def test_an_axis_maps_onto_the_plot_box(self) -> None:
        frame = Frame()
        axis = Axis(10.0, 20.0, (), "")
        assert frame.x(10, axis) == frame.plot_left
        assert frame.x(20, axis) == frame.plot_right
        assert frame.x(15, axis) == (frame.plot_left + frame.plot_right) / 2
        assert frame.y(10, axis) == frame.plot_bottom
        assert frame.y(20, axis) == frame.plot_top

    def test_a_line_runs_from_edge_to_edge_inside_the_box(self) -> None:
        frame = Frame()
        x_axis = Axis(0.0, 4.0, (), "x")
        y_axis = Axis(0.0, 100.0, (), "y")
        points = [LinePoint(i, y) for i, y in enumerate([0.0, 50.0, 100.0, 25.0, 75.0])]
        svg = svg_tree(line_chart(points, x_axis, y_axis, title="t", frame=frame))
        (line,) = svg.iter(f"{SVG}polyline")
        drawn = coords(line.attrib["points"])
        assert drawn[0] == (frame.plot_left, frame.plot_bottom)
        assert drawn[2][1] == frame.plot_top
        assert drawn[-1][0] == frame.plot_right
        for x, y in drawn:
            assert frame.plot_left <= x <= frame.plot_right
            assert frame.plot_top <= y <= frame.plot_bottom
        assert drawn[1][1] == pytest.approx((frame.plot_top + frame.plot_bottom) / 2, abs=0.05)

    def test_an_interval_without_lookups_is_a_gap(self) -> None:
        points = [LinePoint(i, y) for i, y in enumerate([10.0, 20.0, None, 30.0, 40.0])]
        svg = svg_tree(line_chart(points, Axis(0, 4, (), ""), Axis(0, 100, (), ""), title="t"))
        assert len(list(svg.iter(f"{SVG}polyline"))) == 2
        assert len(list(svg.iter(f"{SVG}circle"))) == 4

    def test_an_area_closes_on_the_baseline(self) -> None:
        frame = Frame()
        points = [LinePoint(0, 1.0), LinePoint(1, 3.0)]
        chart = line_chart(points, Axis(0, 1, (), ""), Axis(0, 4, (), ""), title="t", area=True)
        (area,) = svg_tree(chart).iter(f"{SVG}polygon")
        outline = coords(area.attrib["points"])
        assert outline[0] == (frame.plot_left, frame.plot_bottom)
        assert outline[-1] == (frame.plot_right, frame.plot_bottom)

    def test_bars_are_to_scale(self) -> None:
        values = [8.0, 4.0, 2.0, 1.0]
        svg = svg_tree(bar_chart([Bar(f"m{v}", v, str(v)) for v in values], title="t"))
        widths = [float(rect.attrib["width"]) for rect in svg.iter(f"{SVG}rect")]
        for width, value in zip(widths, values, strict=True):
            assert width / widths[0] == pytest.approx(value / values[0], abs=0.01)

    def test_a_long_label_is_shortened_with_its_whole_text_in_the_tooltip(self) -> None:
        name = "openrouter/" + "very-long-model-name-" * 4
        svg = svg_tree(bar_chart([Bar(name, 1.0, "$1.00")], title="t"))
        (label,) = (t for t in svg.iter(f"{SVG}text") if t.attrib.get("class") == "label")
        assert label.text is not None
        assert label.text.endswith("…")
        assert name in "".join(svg.find(f"{SVG}g/{SVG}title").itertext())  # type: ignore[union-attr]


class TestEscaping:
    """Text from the input is escaped wherever the page shows it."""

    def test_model_names_reasons_and_the_file_name_are_text(self, tmp_path: Path) -> None:
        models = {SCRIPT_MODEL: ModelCounts(2, 0.5), IMG_MODEL: ModelCounts(1, 0.25)}
        line = snapshot(START, 3, 1, saved=0.75, models=models, evictions={ATTRIBUTE_REASON: 2})
        path = write_lines(tmp_path / "<b>snapshots.jsonl", [line])
        page = page_of(path)
        for markup in ("<script", "<img", "<svg onload", "<b>"):
            assert markup not in page
        tree = parse_html(page)
        labels = [t.text() for t in tree.by_id("models-chart").all("title")]
        assert any(SCRIPT_MODEL in label for label in labels)
        assert any(IMG_MODEL in label for label in labels)
        assert ATTRIBUTE_REASON in tree.by_id("evictions-chart").text()
        assert "<b>snapshots.jsonl" in tree.by_id("source").text()


class TestNumbers:
    """Money and rates read as people write them."""

    @pytest.mark.parametrize(
        ("amount", "shown"),
        [(0, "$0.00"), (0.00021, "$0.00021"), (0.004, "$0.0040"), (0.01, "$0.01"),
         (1234.5, "$1,234.50")],
    )  # fmt: skip
    def test_usd(self, amount: float, shown: str) -> None:
        assert usd(amount) == shown

    def test_a_rate_of_nothing_is_a_dash(self) -> None:
        assert percent(None) == "-"
        assert percent(0.575) == "57.5%"


class TestCommand:
    """``exllm-cache report INPUT --html OUT`` writes the page and says what it shows."""

    def test_it_writes_the_page(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        lines = [snapshot(START, 1, 3, saved=0.5), snapshot(START + 60, 6, 4, saved=2.0)]
        source = write_lines(tmp_path / "s.jsonl", lines)
        out = tmp_path / "out" / "report.html"
        result = cli("report", str(source), "--html", str(out))
        assert result.code == 0, result.err
        assert "from 2 snapshots: hit rate 60.0%, $2.00 saved" in result.out
        page = parse_html(out.read_text(encoding="utf-8"))
        assert page.by_id("total-saved-cost").attributes["data-value"] == "2.0"
        assert len(page.by_id("hit-rate-chart").all("circle")) == 2

    def test_html_is_required(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        result = cli("report", str(tmp_path / "s.jsonl"))
        assert result.code == 2
        assert "--html" in result.err

    def test_top_limits_the_models_shown(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        models = {f"p/m{i}": ModelCounts(i, i / 10) for i in range(1, 5)}
        source = write_lines(tmp_path / "s.jsonl", [snapshot(START, 10, 1, models=models)])
        out = tmp_path / "report.html"
        assert cli("report", str(source), "--html", str(out), "--top", "1").code == 0
        chart = parse_html(out.read_text(encoding="utf-8")).by_id("models-chart")
        assert "(3 more not shown)" in chart.text()
        assert next(t.text() for t in chart.all("text")) == "p/m4"

    @pytest.mark.parametrize("top", ["0", "-1", "²", "x"])
    def test_top_must_be_a_positive_count(
        self, cli: Callable[..., Result], tmp_path: Path, top: str
    ) -> None:
        result = cli("report", "s.jsonl", "--html", str(tmp_path / "o.html"), "--top", top)
        assert result.code == 2
        assert "argument --top" in result.err

    def test_a_bad_input_fails_naming_it(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        source = tmp_path / "s.jsonl"
        source.write_text("not json\n")
        out = tmp_path / "report.html"
        result = cli("report", str(source), "--html", str(out))
        assert result.code == 1
        assert f"exllm-cache report: error: {source}, line 1: not JSON" in result.err
        assert not out.exists()

    def test_an_output_that_cannot_be_written_fails(
        self, cli: Callable[..., Result], tmp_path: Path
    ) -> None:
        source = write_lines(tmp_path / "s.jsonl", [snapshot(START, 1, 1)])
        blocker = tmp_path / "file"
        blocker.write_text("")
        result = cli("report", str(source), "--html", str(blocker / "report.html"))
        assert result.code == 1
        assert "cannot write the report to" in result.err


def keep_artifact(png: Path, name: str) -> None:
    """Copy a screenshot to ``$EXLLM_TEST_ARTIFACTS`` when CI collects artifacts there."""
    artifacts = os.environ.get("EXLLM_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(artifacts) / name)


def busy_recording(path: Path) -> Path:
    """An hour of snapshots: a climbing hit rate, four real models, hostile names, evictions."""
    names = ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku", "gemini/gemini-2.0-flash"]
    lines = []
    hits = misses = 0
    models: dict[str, ModelCounts] = {}
    evictions: dict[str, int] = {}
    for minute in range(60):
        new_hits, new_misses = 5 + minute // 3, max(25 - minute // 2, 1)
        hits, misses = hits + new_hits, misses + new_misses
        # The hits shared out: 1/15, 2/15, 3/15 and 4/15 to the last four, the rest to the first.
        shares = [new_hits * weight // 15 for weight in range(1, 5)]
        shares.insert(0, new_hits - sum(shares))
        for index, (name, share) in enumerate(
            zip([*names, SCRIPT_MODEL, IMG_MODEL], shares, strict=True)
        ):
            old = models.get(name, ModelCounts())
            models[name] = old.plus(ModelCounts(share, share * 0.0004 * (index + 1)))
        for reason, every in (("lru", 3), ("ttl", 5), (ATTRIBUTE_REASON, 20)):
            if minute % every == 0:
                evictions[reason] = evictions.get(reason, 0) + 1
        saved = sum(m.saved_cost_usd for m in models.values())
        lines.append(
            snapshot(START + 60 * minute, hits, misses, saved=saved, models=dict(models),
                     evictions=dict(evictions))
        )  # fmt: skip
    return write_lines(path, lines)


class TestInBrowser:
    """Chromium renders the page: charts with a size, their colours on screen, input text inert."""

    @pytest.fixture
    def page(self, cli: Callable[..., Result], tmp_path: Path) -> Path:
        source = busy_recording(tmp_path / "snapshots.jsonl")
        out = tmp_path / "report.html"
        result = cli("report", str(source), "--html", str(out))
        assert result.code == 0, result.err
        return out

    def test_the_screenshot_shows_the_charts(self, page: Path, tmp_path: Path) -> None:
        png = screenshot(
            page, tmp_path / "report.png", tmp_path / "profile", width=1280, height=1600
        )
        keep_artifact(png, "report.png")
        image = read_png(png)
        assert (image.width, image.height) == WINDOW
        colours = image.colours()
        assert len(colours) > 50, "the screenshot is (nearly) one colour: nothing was drawn"
        for name, colour in [
            ("the line charts' blue", LINE_BLUE),
            ("the model bars' teal", MODEL_TEAL),
            ("the eviction bars' amber", EVICTION_AMBER),
        ]:
            assert colour in colours, f"{name} {colour} is nowhere on the screenshot"

    def test_every_chart_is_laid_out_with_a_size(self, page: Path, tmp_path: Path) -> None:
        dom = parse_html(rendered_dom(page, tmp_path / "profile", script=MEASURE))
        charts = dom.all("svg")
        assert len(charts) == 4
        for chart in charts:
            width, height = rendered(chart.attributes["data-rendered"])
            assert width > 600, chart.attributes
            assert height > 100, chart.attributes
        labels = [
            t for t in dom.by_id("models-chart").all("text") if t.attributes.get("class") == "label"
        ]
        assert len(labels) == 5
        assert all(rendered(t.attributes["data-rendered"])[0] > 0 for t in labels)

    def test_names_from_the_input_do_not_run(self, page: Path, tmp_path: Path) -> None:
        dom = parse_html(rendered_dom(page, tmp_path / "profile", script=MEASURE))
        (body,) = dom.all("body")
        assert "data-pwned" not in body.attributes
        assert len(dom.all("script")) == 1  # the test's own measuring script, nothing else
        assert not dom.all("img")
        shown = [t.text() for t in dom.by_id("models-chart").all("text")]
        assert any(text.startswith("evil/<script>") for text in shown)


class TestUserFlow:
    """Calls through a real client, recorded over time, come out as the page's numbers."""

    def test_hit_rate_and_saved_cost_reach_the_page(
        self, cli: Callable[..., Result], tmp_path: Path, server: ProviderServer
    ) -> None:
        clock = FakeClock(START)
        recorder = SnapshotRecorder(tmp_path / "snapshots.jsonl", interval=None, clock=clock)
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        openai = {"model": "gpt-4o-mini", "base_url": server.url, "api_key": "test-key"}
        saved, per_minute = 0.0, []
        try:
            with Client(cache_strategy=strategy, mock=MockProvider("Paris.")) as client:
                for questions in (["a", "b"], ["a", "b", "c"], ["a", "c"]):
                    hits = 0
                    for text in questions:
                        message = [{"role": "user", "content": text}]
                        answer = client.chat("openai", message, **openai)
                        free = client.chat("mock", message, model="mock-1")
                        hits += answer.metadata["from_cache"] + free.metadata["from_cache"]
                        if answer.metadata["from_cache"]:
                            saved += answer.metadata["saved_cost"]
                    per_minute.append((hits, 2 * len(questions)))
                    clock.tick(60)
                    recorder.write()
        finally:
            recorder.close()  # one more line, with no lookups since the last: a gap, no point
        stats = strategy.stats()
        assert saved > 0
        out = tmp_path / "report.html"
        assert cli("report", str(recorder.path), "--html", str(out)).code == 0
        dom = parse_html(rendered_dom(out, tmp_path / "profile"))
        hit_rate = dom.by_id("total-hit-rate")
        assert float(hit_rate.attributes["data-value"]) == stats.hits / (stats.hits + stats.misses)
        assert percent(stats.hit_rate) in hit_rate.text()
        saved_tile = dom.by_id("total-saved-cost")
        assert float(saved_tile.attributes["data-value"]) == pytest.approx(saved)
        assert usd(saved) in saved_tile.text()
        notes = [c.text() for c in dom.by_id("hit-rate-chart").all("circle")]
        expected = [f"{percent(h / n)} of {n} lookups" for h, n in per_minute]
        assert [note.split(": ", 1)[1] for note in notes] == expected
        models = dom.by_id("models-chart").text()
        assert "openai/gpt-4o-mini" in models
        assert "mock/mock-1" in models
