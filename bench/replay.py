"""The test cache: replay cost against a floor, against vcrpy, cassette loading, a whole suite.

Figures:

- Replay cost per request, through a bare ``httpx.Client`` over the
  :class:`~exllm_py.testing.transport.RecordingTransport` and through
  ``exllm_py.chat()``, for cassettes of 50, 200 and 1000 interactions. The
  floor is the same client over an ``httpx.MockTransport`` answering from a
  dict (for ``chat()``: the same pipeline, cache off, over that transport), so
  the ratio is what replaying adds. Flat across sizes: 1000 within 1.2x of 50.
- vcrpy (JSON serializer, ``match_on`` method/uri/body) replaying the same
  200 requests: at least 50x slower per request than the recording transport.
- Loading (parse + index) a 1000-interaction cassette: under 50 ms.
- A generated suite of 100 ``live_api`` tests against a loopback endpoint
  answering after 300 ms: the replay run at least 25x faster than the
  recording run, each a whole ``pytest`` process.
"""

from __future__ import annotations

import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import orjson
import structlog

import exllm_py
from bench.measure import Row, median_ns, row
from exllm_py.cache.nocache import NoCache
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.strategy import TestStrategy, recording, use_cassette
from exllm_py.testing.transport import RecordingTransport

__all__ = ["main"]

URL = "https://api.openai.com/v1/chat/completions"
HEADERS = {"content-type": "application/json", "accept": "application/json"}
MODEL = "gpt-4o-mini"
SIZES = (50, 200, 1000)
CALLS_PER_BATCH = 500
ROUNDS = 5


def _question(index: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": f"Question {index}: what is {index} times {index + 1}?"},
    ]


def _completion(index: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"chatcmpl-{index}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"It is {index * (index + 1)}."},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 25, "completion_tokens": 6, "total_tokens": 31},
            "system_fingerprint": "fp_bench",
        }
    )


def _request_body(index: int) -> bytes:
    # The exact body exllm_py builds for chat("openai", _question(index), model=...).
    return orjson.dumps({"model": MODEL, "messages": _question(index)})


class _Unreachable(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"replay reached the network: {request.url}")


def _dict_transport(size: int) -> httpx.MockTransport:
    """The floor: answers from a dict keyed by request body."""
    answers = {_request_body(i): _completion(i) for i in range(size)}
    headers = {"content-type": "application/json"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=answers[request.content])

    return httpx.MockTransport(answer)


def _record(path: Path, size: int) -> None:
    """Record ``size`` chat calls into the cassette at ``path``, through exllm_py itself."""
    client = exllm_py.Client(
        cache_strategy=TestStrategy(NoCache()),
        transport=_dict_transport(size),
        env={"OPENAI_API_KEY": "bench-key"},
    )
    with client, use_cassette(path, mode="rewrite"):
        for index in range(size):
            client.chat("openai", _question(index), model=MODEL)


def _cycle(size: int) -> Callable[[], int]:
    """0, 1, …, size-1, 0, 1, …: each call takes the next request of the cassette."""
    state = {"next": 0}

    def take() -> int:
        index = state["next"]
        state["next"] = (index + 1) % size
        return index

    return take


def _constant(cassette: Cassette) -> Callable[[], Cassette]:
    return lambda: cassette


def _poster(client: httpx.Client, bodies: list[bytes]) -> Callable[[], bytes]:
    """POSTs the cassette's requests in turn, reading each body."""
    take = _cycle(len(bodies))
    return lambda: client.post(URL, content=bodies[take()], headers=HEADERS).content


def _chatter(
    client: exllm_py.Client, questions: list[list[dict[str, str]]], **options: str
) -> Callable[[], object]:
    """chat() with the cassette's questions in turn."""
    take = _cycle(len(questions))
    return lambda: client.chat("openai", questions[take()], model=MODEL, **options)


def _interleaved(floor: Callable[[], object], ours: Callable[[], object]) -> tuple[float, float]:
    """Best per-call times of ``floor`` and ``ours`` over rounds that alternate the two.

    This machine is shared: alternating, then keeping each one's best round,
    compares both under the same load instead of whichever ran in a quiet moment.
    """
    floors, ourses = [], []
    for _ in range(ROUNDS):
        floors.append(median_ns(floor, batch=CALLS_PER_BATCH, batches=5))
        ourses.append(median_ns(ours, batch=CALLS_PER_BATCH, batches=5))
    return min(floors), min(ourses)


def _replay_figures(directory: Path) -> list[Row]:
    rows: list[Row] = []
    http_ratio: dict[int, float] = {}
    chat_ratio: dict[int, float] = {}
    for size in SIZES:
        path = directory / f"replay-{size}.json"
        _record(path, size)
        cassette = Cassette.open(path, mode="none")
        bodies = [_request_body(i) for i in range(size)]
        questions = [_question(i) for i in range(size)]
        recorder = RecordingTransport(_Unreachable(), _constant(cassette))
        with (
            httpx.Client(transport=_dict_transport(size)) as floor_client,
            httpx.Client(transport=recorder) as replay_client,
        ):
            floor, ours = _interleaved(
                _poster(floor_client, bodies), _poster(replay_client, bodies)
            )
        http_ratio[size] = ours / floor
        if size == 200:
            _PER_REQUEST_200["ns"] = ours
        rows.append(
            row(
                f"replay via httpx.Client, {size} interactions",
                f"{ours / 1000:.1f} µs/req",
                f"≤1.3x floor ({floor / 1000:.1f} µs): {ours / floor:.2f}x",
                ours / floor <= 1.3,
            )
        )

        with (
            exllm_py.Client(cache_strategy=NoCache(), transport=_dict_transport(size)) as plain,
            exllm_py.Client(
                cache_strategy=TestStrategy(NoCache()), transport=_Unreachable()
            ) as replaying,
            recording(cassette),
        ):
            # The plain client is unaffected by the recording block: its
            # strategy (NoCache) never wraps its transport.
            chat_floor, chat_ours = _interleaved(
                _chatter(plain, questions, api_key="k"), _chatter(replaying, questions)
            )
        chat_ratio[size] = chat_ours / chat_floor
        rows.append(
            row(
                f"replay via exllm_py.chat(), {size} interactions",
                f"{chat_ours / 1000:.1f} µs/req",
                f"≤1.3x floor ({chat_floor / 1000:.1f} µs): {chat_ours / chat_floor:.2f}x",
                chat_ours / chat_floor <= 1.3,
            )
        )
    for label, ratios in (("httpx.Client", http_ratio), ("exllm_py.chat()", chat_ratio)):
        flat = ratios[SIZES[-1]] / ratios[SIZES[0]]
        rows.append(
            row(
                f"replay via {label}: overhead at 1000 vs 50 interactions",
                f"{flat:.2f}x",
                "≤1.2x",
                flat <= 1.2,
            )
        )
    return rows


# The recording transport's cost per request on the 200-interaction cassette,
# kept for the comparison with vcrpy on the same requests.
_PER_REQUEST_200: dict[str, float] = {}


def _vcrpy_figure(directory: Path) -> list[Row]:
    try:
        import vcr  # type: ignore[import-untyped]  # vcrpy ships no type information
    except ImportError:
        return [row("vcrpy replay, 200 interactions", "vcrpy not installed", "—", True)]
    size = 200
    path = directory / "vcrpy-200.json"
    bodies = [_request_body(i) for i in range(size)]
    options: dict[str, Any] = {"serializer": "json", "match_on": ["method", "uri", "body"]}
    with (
        httpx.Client(transport=_dict_transport(size)) as client,
        vcr.use_cassette(str(path), record_mode="all", **options),
    ):
        for body in bodies:
            client.post(URL, content=body, headers=HEADERS).read()
    with (
        httpx.Client(transport=_dict_transport(size)) as client,
        vcr.use_cassette(str(path), record_mode="none", **options),
    ):
        started = time.perf_counter_ns()
        for body in bodies:
            client.post(URL, content=body, headers=HEADERS).read()
        theirs = (time.perf_counter_ns() - started) / size
    ours = _PER_REQUEST_200["ns"]
    return [
        row(
            "vcrpy replay, same 200 requests (json, method/uri/body)",
            f"{theirs / 1000:.0f} µs/req",
            f"≥50x exllm_py ({ours / 1000:.1f} µs): {theirs / ours:.0f}x",
            theirs / ours >= 50,
        )
    ]


def _load_figure(directory: Path) -> list[Row]:
    path = directory / "replay-1000.json"
    samples = []
    for _ in range(7):
        started = time.perf_counter_ns()
        Cassette.open(path, mode="none")
        samples.append(time.perf_counter_ns() - started)
    load_ms = statistics.median(samples) / 1e6
    size_kb = path.stat().st_size / 1024
    return [
        row(
            f"load a 1000-interaction cassette ({size_kb:.0f} KiB)",
            f"{load_ms:.1f} ms",
            "<50 ms",
            load_ms < 50,
        )
    ]


SUITE = """
import os

import pytest

import exllm_py


@pytest.mark.live_api
@pytest.mark.parametrize("n", range(100))
def test_question(n):
    response = exllm_py.chat(
        "openai",
        [{"role": "user", "content": f"Question {n}"}],
        base_url=os.environ["LOOPBACK_URL"],
        api_key="bench-key",
    )
    assert response.content
"""

# Both runs load only the plugin the suite uses (as a project's configuration
# would), so that the comparison is about recording and replaying, not about
# importing whatever else happens to be installed in this environment.
SUITE_INI = """
[pytest]
addopts = -q -p no:cacheprovider -p exllm_py.testing.plugin
"""


@contextmanager
def _slow_endpoint(latency: float) -> Iterator[str]:
    # The loopback provider server of the test suite, answering every request late.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fakes.provider_server import ProviderServer, default_reply

    with ProviderServer() as server:
        server.route(
            re.compile(".*"), lambda request: attrs.evolve(default_reply(request), latency=latency)
        )
        yield server.url


def _pytest(directory: Path, url: str, mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "EXLLM_RECORD_MODE")}
    env["LOOPBACK_URL"] = url
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", f"--exllm-record-mode={mode}"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"the {mode} run failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return elapsed


def _suite_figure(directory: Path) -> list[Row]:
    suite = directory / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text(textwrap.dedent(SUITE_INI))
    (suite / "test_suite.py").write_text(textwrap.dedent(SUITE))
    with _slow_endpoint(0.3) as url:
        recording_s = _pytest(suite, url, "once")
    replay_s = _pytest(suite, url, "none")  # the endpoint is gone: replay only
    speedup = recording_s / replay_s
    return [
        row(
            "100 live_api tests, 300 ms endpoint: record run",
            f"{recording_s:.2f} s",
            "(reference)",
            True,
        ),
        row(
            "100 live_api tests: replay run (endpoint stopped)",
            f"{replay_s:.2f} s",
            f"≥25x faster: {speedup:.0f}x",
            speedup >= 25,
        ),
    ]


def main() -> list[Row]:
    """Run every test-cache benchmark; returns (figure, value, target) rows."""
    print("\ntest cache (record/replay)")
    # An application's logging choice: telemetry below warning is not logged here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="exllm-bench-") as name:
        directory = Path(name)
        rows = _replay_figures(directory)
        rows += _vcrpy_figure(directory)
        rows += _load_figure(directory)
        rows += _suite_figure(directory)
    return rows


if __name__ == "__main__":
    main()
