"""Replaying an SDK's calls: against a floor, against vcrpy; the plugin's cost to other tests.

Figures:

- Replay cost per ``client.chat.completions.create(...)`` of the ``openai``
  SDK (3.x, on httpx2) given ``http_client=exllm_py.testing.http_client("httpx2")``,
  for cassettes of 50, 200 and 1000 interactions. The floor is the same SDK
  over an ``httpx2.Client`` whose ``MockTransport`` answers from a dict keyed
  by request body, so the ratio is what replaying adds: at most 1.3x. Flat
  across sizes: 1000 within 1.2x of 50.
- vcrpy (JSON serializer, ``match_on`` method/uri/body) replaying the same
  200 calls through the same SDK (vcrpy 9.4 patches httpx2's transports,
  ``MockTransport`` included): at least 10x slower per call than exllm_py.
- A generated suite of 1000 plain tests (not ``live_api``), each making an
  ``httpx.MockTransport`` call, as a whole ``pytest`` process with plugin
  autoloading off: with the exllm_py plugin at most 1.02x the time without it.
  Also printed, from a 1-test suite run alongside: how much of the difference
  is loading the plugin rather than running the tests.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import structlog

import exllm_py.testing
from bench.measure import Row, median_ns, row
from bench.replay import MODEL, SIZES, _completion, _cycle, _question
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.strategy import recording, use_cassette

__all__ = ["main"]

BASE_URL = "https://api.openai.com/v1"
# An SDK call takes a millisecond or more: short batches in many alternating
# rounds, so both sides see the same load on a shared machine.
CALLS_PER_BATCH = 40
ROUNDS = 20
SUITE_RUNS = 7


def _openai(http_client: httpx2.Client) -> Any:
    from openai import OpenAI

    return OpenAI(http_client=http_client, base_url=BASE_URL, api_key="bench-key", max_retries=0)


def _ask(sdk: Any, index: int) -> Any:
    return sdk.chat.completions.create(model=MODEL, messages=_question(index))


def _answers(size: int) -> dict[bytes, bytes]:
    """The SDK's request body for each of ``size`` questions, and its canned answer."""
    answers: dict[bytes, bytes] = {}

    def learn(request: httpx2.Request) -> httpx2.Response:
        answers[request.content] = _completion(len(answers))
        return httpx2.Response(200, headers=_JSON, content=answers[request.content])

    with _openai(httpx2.Client(transport=httpx2.MockTransport(learn))) as sdk:
        for index in range(size):
            _ask(sdk, index)
    assert len(answers) == size, "the SDK sent the same body for two questions"
    return answers


_JSON = {"content-type": "application/json"}


def _dict_transport(answers: dict[bytes, bytes]) -> httpx2.MockTransport:
    """The floor: answers from a dict keyed by request body."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers=_JSON, content=answers[request.content])

    return httpx2.MockTransport(answer)


class _Unreachable(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"replay reached the network: {request.url}")


def _asker(sdk: Any, size: int) -> Callable[[], object]:
    """The SDK asks the cassette's questions in turn."""
    take = _cycle(size)
    return lambda: _ask(sdk, take())


def _interleaved(floor: Callable[[], object], ours: Callable[[], object]) -> tuple[float, float]:
    """Best per-call times of ``floor`` and ``ours``, over rounds alternating which goes first."""
    best = {floor: float("inf"), ours: float("inf")}
    for index in range(ROUNDS):
        for fn in (floor, ours) if index % 2 else (ours, floor):
            best[fn] = min(best[fn], median_ns(fn, batch=CALLS_PER_BATCH, batches=3))
    return best[floor], best[ours]


def _replay_figures(directory: Path) -> tuple[list[Row], float]:
    """The rows, and exllm_py's cost per call on the 200-interaction cassette (ns)."""
    rows: list[Row] = []
    ratios: dict[int, float] = {}
    per_call_200 = 0.0
    for size in SIZES:
        answers = _answers(size)
        path = directory / f"sdk-{size}.json"
        # Recorded through the SDK itself, from the dict transport.
        with (
            _openai(
                exllm_py.testing.http_client("httpx2", transport=_dict_transport(answers))
            ) as sdk,
            use_cassette(path, mode="rewrite"),
        ):
            for index in range(size):
                _ask(sdk, index)
        with (
            _openai(httpx2.Client(transport=_dict_transport(answers))) as floor_sdk,
            _openai(exllm_py.testing.http_client("httpx2", transport=_Unreachable())) as sdk,
            recording(Cassette.open(path, mode="none")),
        ):
            floor, ours = _interleaved(_asker(floor_sdk, size), _asker(sdk, size))
        ratios[size] = ours / floor
        if size == 200:
            per_call_200 = ours
        rows.append(
            row(
                f"replay via openai SDK (httpx2), {size} interactions",
                f"{ours / 1000:.1f} µs/call",
                f"≤1.3x floor ({floor / 1000:.1f} µs): {ours / floor:.2f}x",
                ours / floor <= 1.3,
            )
        )
    flat = ratios[SIZES[-1]] / ratios[SIZES[0]]
    rows.append(
        row(
            "replay via openai SDK: overhead at 1000 vs 50 interactions",
            f"{flat:.2f}x",
            "≤1.2x",
            flat <= 1.2,
        )
    )
    return rows, per_call_200


def _vcrpy_figure(directory: Path, ours: float) -> list[Row]:
    try:
        import vcr  # type: ignore[import-untyped]  # vcrpy ships no type information
    except ImportError:
        return [row("vcrpy replay via openai SDK, 200 calls", "vcrpy not installed", "—", True)]
    size = 200
    answers = _answers(size)
    path = str(directory / "vcrpy-sdk-200.json")
    options: dict[str, Any] = {"serializer": "json", "match_on": ["method", "uri", "body"]}
    # vcrpy patches httpx2.MockTransport too: it records and replays in front of the dict.
    with (
        _openai(httpx2.Client(transport=_dict_transport(answers))) as sdk,
        vcr.use_cassette(path, record_mode="all", **options),
    ):
        for index in range(size):
            _ask(sdk, index)
    samples = []
    # The dict transport again: what vcrpy patches (a bare BaseTransport it would not see).
    with _openai(httpx2.Client(transport=_dict_transport(answers))) as sdk:
        for _ in range(3):
            # A vcrpy cassette plays each recording once per use: one pass each.
            with vcr.use_cassette(path, record_mode="none", **options) as cassette:
                started = time.perf_counter_ns()
                for index in range(size):
                    _ask(sdk, index)
                samples.append((time.perf_counter_ns() - started) / size)
            assert cassette.play_count == size, "vcrpy did not replay every call"
    theirs = min(samples)
    return [
        row(
            "vcrpy replay, same 200 SDK calls (json, method/uri/body)",
            f"{theirs / 1000:.0f} µs/call",
            f"≥10x exllm_py ({ours / 1000:.1f} µs): {theirs / ours:.1f}x",
            theirs / ours >= 10,
        )
    ]


SUITE = """
import httpx
import pytest


def answer(request):
    return httpx.Response(200, json={"path": request.url.path})


@pytest.mark.parametrize("n", range(COUNT))
def test_plain(n):
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert client.get(f"https://api.example.test/{n}").json() == {"path": f"/{n}"}
"""

SUITE_INI = """
[pytest]
addopts = -q -p no:cacheprovider
"""

# Autoloading is off in every run: the one with the plugin loads it alone.
WITH_PLUGIN = ("-p", "exllm_py.testing.plugin")
WITHOUT_PLUGIN = ("-p", "no:exllm_py")


def _suite(directory: Path, count: int) -> Path:
    suite = directory / f"plain-suite-{count}"
    suite.mkdir()
    (suite / "pytest.ini").write_text(SUITE_INI)
    (suite / "test_plain.py").write_text(SUITE.replace("COUNT", str(count)))
    return suite


def _pytest(suite: Path, options: tuple[str, ...]) -> float:
    skipped = ("CI", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in skipped and not k.startswith("EXLLM_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    # Bytecode cached as in a developer's checkout (not compiled again in every
    # run), kept out of the source tree.
    env["PYTHONPYCACHEPREFIX"] = str(suite.parent / "pycache")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *options],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or " passed" not in result.stdout:
        raise RuntimeError(f"the suite failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def _plugin_figure(directory: Path) -> list[Row]:
    # The 1-test suite tells the plugin's fixed cost (loading it) from its cost per test.
    suites = [_suite(directory, count) for count in (1000, 1)]
    runs = [(suite, options) for suite in suites for options in (WITHOUT_PLUGIN, WITH_PLUGIN)]
    times: dict[tuple[Path, tuple[str, ...]], list[float]] = {run: [] for run in runs}
    for run in runs:
        _pytest(*run)  # warm up: bytecode, file cache
    for _ in range(SUITE_RUNS):
        for run in runs:
            times[run].append(_pytest(*run))
    best = [min(times[run]) for run in runs]
    medians = [statistics.median(times[run]) for run in runs]
    floor, ours, floor_1, ours_1 = best
    fixed = ours_1 - floor_1
    return [
        row(
            "1000 plain httpx tests, without the plugin (best)",
            f"{floor:.2f} s",
            f"(reference; median {medians[0]:.2f} s)",
            True,
        ),
        row(
            "1000 plain httpx tests, with the plugin (best)",
            f"{ours:.2f} s",
            f"≤1.02x: {ours / floor:.3f}x (medians {medians[1] / medians[0]:.3f}x)",
            ours / floor <= 1.02,
        ),
        row(
            "  of which loading the plugin (1-test suite, best vs best)",
            f"{fixed * 1000:+.0f} ms",
            "(reference)",
            True,
        ),
    ]


def main() -> list[Row]:
    """Run the SDK replay benchmarks; returns (figure, value, target) rows."""
    print("\ntest cache through the openai SDK")
    try:
        import openai  # noqa: F401 (only to know whether it is installed)
    except ImportError:
        return [row("replay via openai SDK", "openai not installed", "—", True)]
    # An application's logging choice: telemetry below warning is not logged here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="exllm-bench-sdk-") as name:
        directory = Path(name)
        rows, ours_200 = _replay_figures(directory)
        rows += _vcrpy_figure(directory, ours_200)
        rows += _plugin_figure(directory)
    return rows


if __name__ == "__main__":
    main()
