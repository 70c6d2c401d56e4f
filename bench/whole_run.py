"""What a user feels: a whole replayed pytest run, the first replayed call, a first play.

Figures (each suite is generated into a temp dir and run as a real ``pytest``
process, plugin autoloading off; the runs alternate, each figure a median):

- 100 ``live_api`` tests, each one ``exllm_py.chat()`` replayed from its
  cassette, with the plugin given as ``-p exllm_py.testing.plugin`` (what
  autoloading would load), against a floor suite of the same 100 calls
  through an ``exllm_py.Client`` over an ``httpx.MockTransport`` answering
  from a dict, without the plugin: what a hand-written mock costs. At most
  1.3x the floor with the default strategy, with ``EXLLM_CACHE_STRATEGY``
  set to ``production`` and to ``none`` by the user, and with a conftest
  calling ``exllm_py.configure(cache_strategy=ProductionStrategy())``. Each
  is compared with the floor of the same strategy: no cache for the default
  and ``none`` (the strictest floor), the production cache for the other
  two (a user who chose it pays for importing it with or without recording).
- The same 100 calls through the openai SDK, replayed by pytest-recording
  (vcrpy; JSON cassettes, matched on method, URI and body): the default
  exllm_py run at least 2x faster.
- The same suites counted in instructions by callgrind, when valgrind is
  installed: one run each, the same count every run, where wall times on a
  shared machine drift by a tenth between runs. The same 1.3x target.
- The first replayed ``chat()`` of a fresh pytest process, timed inside the
  first ``live_api`` test (so the lazy imports it triggers count): at most
  2 ms. Beside it, the floor suite's first call timed the same way (what
  httpx's and the pipeline's first use cost without recording), and the
  later tests' median (the steady state).
- In one process, replaying a cassette's interactions for the first time
  against playing them again: the first play at most 1.2x the second.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import structlog

from bench.measure import Row, row

__all__ = ["main"]

TESTS = 100
RUNS = 7
MODEL = "gpt-4o-mini"

# One test body for every suite: only what ``chat`` is differs.
TEST_MODULE = """
import os

import pytest

from {chat_from} import chat

BASE_URL = os.environ["LOOPBACK_URL"]


{marker}
@pytest.mark.parametrize("n", range({tests}))
def test_question(n):
    response = chat(
        "openai",
        [{{"role": "user", "content": f"Question {{n}}"}}],
        model="{model}",
        base_url=BASE_URL,
        api_key="bench-key",
    )
    assert response.content
"""

# The floor: the same calls, answered from a dict by an httpx.MockTransport.
FLOOR_CHAT = """
import json
import pathlib

import httpx

import exllm_py

# Keyed by the request body with its keys sorted, as the cassettes store it.
ANSWERS = json.loads(pathlib.Path(__file__).with_name("answers.json").read_text())


def _answer(request):
    body = json.dumps(json.loads(request.content), sort_keys=True, separators=(",", ":"))
    return httpx.Response(
        200, headers={{"content-type": "application/json"}}, content=ANSWERS[body].encode()
    )


# The strategy EXLLM_CACHE_STRATEGY names, as the replayed suite's default client.
chat = exllm_py.Client(transport=httpx.MockTransport(_answer)).chat
"""

CONFIGURE_CONFTEST = """
import exllm_py
from exllm_py.cache.production import ProductionStrategy

exllm_py.configure(cache_strategy=ProductionStrategy())
"""

# pytest-recording's suite: the openai SDK, one client for the module.
VCR_MODULE = """
import os

import pytest
from openai import OpenAI

SDK = OpenAI(base_url=os.environ["LOOPBACK_URL"], api_key="bench-key", max_retries=0)


@pytest.fixture(scope="module")
def vcr_config():
    return {{"serializer": "json", "match_on": ["method", "uri", "body"]}}


@pytest.mark.vcr
@pytest.mark.parametrize("n", range({tests}))
def test_question(n):
    response = SDK.chat.completions.create(
        model="{model}", messages=[{{"role": "user", "content": f"Question {{n}}"}}]
    )
    assert response.choices[0].message.content
"""

# The first-call suite: each test times its chat() into a file, one line per test.
TIMED_MODULE = """
import os
import time

import pytest

from {chat_from} import chat

BASE_URL = os.environ["LOOPBACK_URL"]


{marker}
@pytest.mark.parametrize("n", range({tests}))
def test_question(n):
    started = time.perf_counter_ns()
    response = chat(
        "openai",
        [{{"role": "user", "content": f"Question {{n}}"}}],
        model="{model}",
        base_url=BASE_URL,
        api_key="bench-key",
    )
    elapsed = time.perf_counter_ns() - started
    assert response.content
    with open(os.environ["TIMINGS"], "a") as timings:
        timings.write(f"{{elapsed}}\\n")
"""

INI = "[pytest]\naddopts = -q -p no:cacheprovider {plugin}\n"
PLUGIN = "-p exllm_py.testing.plugin"


@attrs.frozen
class Suite:
    """A generated suite: its directory and the environment it runs with."""

    name: str
    directory: Path
    env: dict[str, str] = attrs.field(factory=dict)


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _test_module(chat_from: str, *, marker: str) -> str:
    return TEST_MODULE.format(chat_from=chat_from, marker=marker, tests=TESTS, model=MODEL)


def _exllm_files(conftest: str = "") -> dict[str, str]:
    return {
        "pytest.ini": INI.format(plugin=PLUGIN),
        "conftest.py": conftest,
        "test_suite.py": _test_module("exllm_py", marker="@pytest.mark.live_api"),
    }


@contextmanager
def _endpoint() -> Iterator[str]:
    """The test suite's loopback provider server (its default answers), for recording."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fakes.provider_server import ProviderServer

    with ProviderServer() as server:
        yield server.url


def _env(url: str, extra: dict[str, str]) -> dict[str, str]:
    skipped = ("CI", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in skipped and not k.startswith("EXLLM_")}
    env.update(extra, LOOPBACK_URL=url, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return env


def _pytest(suite: Suite, url: str, *options: str, extra: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    _run(suite, url, [sys.executable, "-m", "pytest", *options], extra)
    return time.perf_counter() - started


def _instructions(suite: Suite, url: str, *options: str) -> int:
    """Instructions the suite's whole pytest process executes, counted by callgrind."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={os.devnull}"]
    result = _run(suite, url, [*command, sys.executable, "-m", "pytest", *options])
    counted = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if counted is None:
        raise RuntimeError(f"callgrind printed no count for {suite.name}:\n{result.stderr[-2000:]}")
    return int(counted[1].replace(",", ""))


def _run(
    suite: Suite, url: str, command: list[str], extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = _env(url, {**suite.env, **(extra or {})})
    # Bytecode cached as in a developer's checkout, kept out of the suite.
    env["PYTHONPYCACHEPREFIX"] = str(suite.directory.parent / "pycache")
    result = subprocess.run(
        command, cwd=suite.directory, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or f"{TESTS} passed" not in result.stdout:
        raise RuntimeError(
            f"suite {suite.name} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


def _answers(cassettes: Path) -> dict[str, str]:
    """Each recorded request body (as exllm_py sends it) and its recorded answer."""
    import orjson

    answers = {}
    for path in sorted(cassettes.rglob("*.json")):
        for interaction in orjson.loads(path.read_bytes())["interactions"]:
            request = orjson.dumps(interaction["request"]["json"], option=orjson.OPT_SORT_KEYS)
            answers[request.decode()] = orjson.dumps(interaction["response"]["json"]).decode()
    return answers


def _suites(directory: Path, url: str) -> list[Suite]:
    """Record the cassettes once, then lay out every suite with its copy of them."""
    recorded = Suite("record", _write(directory / "record", _exllm_files()))
    _pytest(recorded, url, "--exllm-record-mode=once")
    cassettes = recorded.directory / "cassettes"
    floor_files = {
        "pytest.ini": INI.format(plugin=""),
        "floor_chat.py": FLOOR_CHAT.format(),
        "answers.json": _json(_answers(cassettes)),
        "test_suite.py": _test_module("floor_chat", marker=""),
    }
    floor = _write(directory / "floor", floor_files)
    suites = [
        Suite("floor", floor, {"EXLLM_CACHE_STRATEGY": "none"}),
        Suite("floor production", floor, {"EXLLM_CACHE_STRATEGY": "production"}),
        Suite("default", _write(directory / "default", _exllm_files())),
        Suite(
            "env production",
            _write(directory / "production", _exllm_files()),
            {"EXLLM_CACHE_STRATEGY": "production"},
        ),
        Suite(
            "env none", _write(directory / "none", _exllm_files()), {"EXLLM_CACHE_STRATEGY": "none"}
        ),
        Suite("configure()", _write(directory / "configure", _exllm_files(CONFIGURE_CONFTEST))),
    ]
    for suite in suites[2:]:
        shutil.copytree(cassettes, suite.directory / "cassettes")
    return suites


def _json(value: object) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _vcr_suite(directory: Path, url: str) -> Suite | None:
    try:
        import openai  # noqa: F401 (only to know whether it is installed)
        import pytest_recording  # noqa: F401
    except ImportError:
        return None
    files = {
        "pytest.ini": INI.format(plugin="-p pytest_recording.plugin"),
        "test_suite.py": VCR_MODULE.format(tests=TESTS, model=MODEL),
    }
    suite = Suite("vcrpy", _write(directory / "vcr", files))
    _pytest(suite, url, "--record-mode=once")
    return suite


def _interleaved(
    suites: list[Suite], url: str, options: dict[str, tuple[str, ...]]
) -> dict[str, float]:
    """Median wall time of each suite's replay run, over rounds that run them in turn."""
    times: dict[str, list[float]] = {suite.name: [] for suite in suites}
    for suite in suites:
        _pytest(suite, url, *options.get(suite.name, ()))  # warm up: bytecode, file cache
    for index in range(RUNS):
        ordered = suites if index % 2 else suites[::-1]
        for suite in ordered:
            times[suite.name].append(_pytest(suite, url, *options.get(suite.name, ())))
    return {name: statistics.median(samples) for name, samples in times.items()}


def _suite_figures(directory: Path) -> list[Row]:
    with _endpoint() as url:
        suites = _suites(directory, url)
        vcr = _vcr_suite(directory, url)
    # The endpoint is gone: every run below replays only.
    replay = ("--exllm-record-mode=none",)
    options = {suite.name: replay for suite in suites[2:]} | {"vcrpy": ("--record-mode=none",)}
    medians = _interleaved([*suites, *([vcr] if vcr else [])], url, options)
    rows = [
        row(
            f"{TESTS} calls over httpx.MockTransport, {name}",
            f"{medians[name]:.3f} s",
            "(floor, whole pytest run, median)",
            True,
        )
        for name in ("floor", "floor production")
    ]
    rows += _ratio_rows(
        suites[2:], medians, f"{TESTS} live_api tests replayed, strategy: {{}}", "{:.3f} s"
    )
    rows += _instruction_figures(suites, url, options)
    if vcr is None:
        rows.append(row("pytest-recording + openai SDK", "not installed", "—", True))
        return rows
    theirs, ours = medians["vcrpy"], medians["default"]
    rows.append(
        row(
            f"{TESTS} tests replayed by pytest-recording + openai SDK",
            f"{theirs:.3f} s",
            f"≥2x exllm_py's default: {theirs / ours:.2f}x",
            theirs / ours >= 2,
        )
    )
    return rows


def _floor_for(suite: Suite) -> str:
    """The floor with the suite's strategy: what the user's choice costs without recording.

    No cache for the default and ``none``, the production cache for the others.
    """
    return "floor" if suite.name in ("default", "env none") else "floor production"


def _instruction_figures(
    suites: list[Suite], url: str, options: dict[str, tuple[str, ...]]
) -> list[Row]:
    """The suites' ratios again, in instructions: the same every run, where wall time drifts."""
    if shutil.which("valgrind") is None:
        return [
            row("the same, in instructions (callgrind)", "not measured", "valgrind absent", True)
        ]
    counts = {
        suite.name: _instructions(suite, url, *options.get(suite.name, ())) / 1e9
        for suite in suites
    }
    label = "  the same, strategy: {}, in instructions (callgrind)"
    return _ratio_rows(suites[2:], counts, label, "{:.3f} G")


def _ratio_rows(suites: list[Suite], figures: dict[str, float], label: str, unit: str) -> list[Row]:
    """Each suite's figure against its floor's (see :func:`_floor_for`), at most 1.3x."""
    rows = []
    for suite in suites:
        floor = _floor_for(suite)
        ratio = figures[suite.name] / figures[floor]
        rows.append(
            row(
                label.format(suite.name),
                unit.format(figures[suite.name]),
                f"≤1.3x {floor} ({unit.format(figures[floor])}): {ratio:.2f}x",
                ratio <= 1.3,
            )
        )
    return rows


def _first_call_figures(directory: Path) -> list[Row]:
    timed = {"tests": TESTS, "model": MODEL}
    files = _exllm_files()
    files["test_suite.py"] = TIMED_MODULE.format(
        chat_from="exllm_py", marker="@pytest.mark.live_api", **timed
    )
    suite = Suite("timed", _write(directory / "timed", files))
    with _endpoint() as url:
        _pytest(suite, url, "--exllm-record-mode=once", extra={"TIMINGS": os.devnull})
    cassettes = suite.directory / "cassettes"
    floor_files = {
        "pytest.ini": INI.format(plugin=""),
        "floor_chat.py": FLOOR_CHAT.format(),
        "answers.json": _json(_answers(cassettes)),
        "test_suite.py": TIMED_MODULE.format(chat_from="floor_chat", marker="", **timed),
    }
    floor = Suite(
        "timed floor",
        _write(directory / "timed_floor", floor_files),
        {"EXLLM_CACHE_STRATEGY": "none"},
    )
    ours = _first_calls(suite, url, directory, "--exllm-record-mode=none")
    theirs = _first_calls(floor, url, directory)
    first_ms, later_ms = ours
    floor_first_ms = theirs[0]
    return [
        row(
            "first replayed chat() of a pytest process (median)",
            f"{first_ms:.2f} ms",
            f"≤2 ms ({first_ms / floor_first_ms:.2f}x the floor's first call)",
            first_ms <= 2,
        ),
        row(
            "  first chat() over httpx.MockTransport, cache off, no plugin (floor)",
            f"{floor_first_ms:.2f} ms",
            "(httpx's and the pipeline's own first use)",
            True,
        ),
        row(
            "  later replayed chat() calls, one per test (median)",
            f"{later_ms * 1000:.0f} µs",
            "(steady state)",
            True,
        ),
    ]


def _first_calls(suite: Suite, url: str, directory: Path, *options: str) -> tuple[float, float]:
    """Median over runs of a fresh process's first timed call, and of its later calls (ms)."""
    timings = directory / f"{suite.directory.name}.txt"
    firsts, laters = [], []
    for _ in range(RUNS):
        timings.unlink(missing_ok=True)
        _pytest(suite, url, *options, extra={"TIMINGS": str(timings)})
        samples = [int(line) for line in timings.read_text().split()]
        firsts.append(samples[0])
        laters.append(statistics.median(samples[1:]))
    return statistics.median(firsts) / 1e6, statistics.median(laters) / 1e6


def _first_play_figure(directory: Path) -> list[Row]:
    """First plays of a cassette's interactions against second plays, in one process."""
    import exllm_py
    from bench.replay import MODEL as REPLAY_MODEL
    from bench.replay import _question, _record
    from exllm_py.cache.nocache import NoCache
    from exllm_py.testing.cassette import Cassette
    from exllm_py.testing.strategy import TestStrategy, recording

    size = 200
    path = directory / "plays.json"
    _record(path, size)
    questions = [_question(i) for i in range(size)]
    client = exllm_py.Client(cache_strategy=TestStrategy(NoCache()))
    client.chat("mock", [{"role": "user", "content": "warm up"}])

    def play_all(cassette: Cassette) -> float:
        with recording(cassette):
            started = time.perf_counter_ns()
            for question in questions:
                client.chat("openai", question, model=REPLAY_MODEL, api_key="k")
            return (time.perf_counter_ns() - started) / size

    firsts, seconds = [], []
    with client:
        for _ in range(RUNS):
            cassette = Cassette.open(path, mode="none")
            firsts.append(play_all(cassette))
            seconds.append(play_all(cassette))
    first, second = min(firsts), min(seconds)
    return [
        row(
            f"replay: first play of {size} interactions vs their second play",
            f"{first / 1000:.1f} µs/call",
            f"≤1.2x second ({second / 1000:.1f} µs): {first / second:.2f}x",
            first / second <= 1.2,
        )
    ]


def main() -> list[Row]:
    """Run the whole-run benchmarks; returns (figure, value, target) rows."""
    print("\nwhat a user feels: whole replayed runs, the first call, a first play")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="exllm-bench-run-") as name:
        directory = Path(name)
        rows = _suite_figures(directory)
        rows += _first_call_figures(directory)
        rows += _first_play_figure(directory)
    return rows


if __name__ == "__main__":
    main()
