"""``python -m exllm_py demo``: the library doing its job, in a few readable lines.

Offline by default: with no API key set, calls go to a simulated
OpenAI-compatible endpoint that the demo starts on loopback (300 ms per
answer). With ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY`` or ``GEMINI_API_KEY``
set, the same calls go to that provider for real; if it cannot be reached
(no network) or refuses the call, the demo says so in one line, names the
key to unset for the offline run, and exits 1. Dollar amounts in the log
lines are rounded (``saved_cost_usd=$0.000007``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import attrs
import structlog

import exllm_py
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cli.render import dollars
from exllm_py.demo.server import SimulatedOpenAI
from exllm_py.errors import ExLLMError

__all__ = ["main"]

_LIVE = (("OPENAI_API_KEY", "openai"), ("ANTHROPIC_API_KEY", "anthropic"))
_LIVE_GEMINI = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
QUESTION = [{"role": "user", "content": "In one sentence: why cache LLM responses?"}]


@attrs.frozen
class _Endpoint:
    """What the demo calls: a provider with its options, and the key that chose it (if any)."""

    provider: str
    options: dict[str, Any]
    label: str
    #: How many calls reached the simulated endpoint so far; ``None`` for a real provider.
    upstream: Callable[[], int | None]
    key_env: str | None = None


def main() -> int:
    # The demo is an application, so it configures logging: telemetry events
    # appear as structlog prints them.
    structlog.configure(
        processors=[_short_key, _dollars, structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    exllm_py.telemetry.refresh_logging()
    with _endpoint() as endpoint:
        print(f"exllm_py demo: {endpoint.label}\n")
        try:
            simulated = _tour(endpoint)
        except ExLLMError as exc:
            if endpoint.key_env is None:
                raise  # the simulated endpoint failing is a bug: show all of it
            print(_unreachable(endpoint.key_env, exc), file=sys.stderr)
            return 1
    if simulated:  # recording against a paid API is for your own tests, not a demo
        _record_then_replay()
    return 0


def _tour(endpoint: _Endpoint) -> bool:
    """Sections 1 to 4; whether the endpoint was the simulated one."""
    provider, options = endpoint.provider, endpoint.options
    client = exllm_py.Client(cache_strategy=ProductionStrategy(MemoryStore()))
    try:
        _section("1. The same call twice: the second is served from the in-memory cache")
        for attempt in ("first call", "same call"):
            _timed(attempt, lambda: client.chat(provider, QUESTION, temperature=0, **options))
        _section("2. The same call streamed twice: a stream read to its end is stored")
        for attempt in ("first stream", "same stream"):
            started = time.perf_counter()
            chunks = list(client.stream(provider, QUESTION, max_tokens=60, **options))
            elapsed = (time.perf_counter() - started) * 1000
            text = "".join(chunk.content for chunk in chunks)[:60]
            cached = bool(chunks) and chunks[-1].metadata.get("from_cache") is True
            print(
                f"   {attempt}: {len(chunks)} chunks in {elapsed:.0f} ms, "
                f"stream_from_cache={cached}: {text!r}"
            )
        _section("3. Twenty identical calls at once make one upstream call (single-flight)")
        before = endpoint.upstream()
        # Twenty miss/hit lines would bury the point: only warnings for this part.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        exllm_py.telemetry.refresh_logging()
        asyncio.run(_concurrent(client, provider, options))
        after = endpoint.upstream()
        if before is not None and after is not None:
            print(f"   upstream calls made: {after - before}")
        stats = client.cache_strategy.stats()
        _section("4. Cache statistics")
        print(
            f"   hits={stats.hits} misses={stats.misses} entries={stats.entries} "
            f"bytes={stats.bytes} hit_rate={stats.hit_rate:.0%}"
        )
    finally:
        client.close()
    return before is not None


def _unreachable(key_env: str, error: ExLLMError) -> str:
    """One line for a live run that failed: what the provider said, and the way out."""
    what = " ".join(str(error).split())  # the message on one line, whatever it quotes
    return f"exllm_py demo: {what}. Unset {key_env} to run the offline demo instead."


def _record_then_replay() -> None:
    """What a ``live_api`` test does: record once, then replay with the endpoint stopped."""
    from exllm_py.testing.strategy import TestStrategy, use_cassette

    _section("5. The test cache: record once, then replay with the endpoint stopped")
    client = exllm_py.Client(cache_strategy=TestStrategy())
    question = [{"role": "user", "content": "Record me, then replay me."}]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo" / "test_record_then_replay.json"
        with SimulatedOpenAI(latency=0.3) as server, use_cassette(path, mode="once"):
            options = {"base_url": server.url, "api_key": "simulated-key"}
            _timed("recording", lambda: client.chat("openai", question, **options))
            streamed = [c.content for c in client.stream("openai", question, **options)]
        print(f"   cassette: {path.stat().st_size} bytes of readable JSON; endpoint stopped")
        with use_cassette(path, mode="none"):
            _timed("replaying", lambda: client.chat("openai", question, **options))
            replayed = [c.content for c in client.stream("openai", question, **options)]
        same = "the same" if replayed == streamed else "DIFFERENT"
        print(f"   replayed stream: {len(replayed)} chunks, {same} as recorded")
    client.close()


async def _concurrent(client: exllm_py.Client, provider: str, options: dict[str, Any]) -> None:
    question = [{"role": "user", "content": "Name three uses of a cache."}]
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(client.achat(provider, question, **options) for _ in range(20))
    )
    elapsed = (time.perf_counter() - started) * 1000
    served = sum(bool(answer.metadata["from_cache"]) for answer in answers)
    print(f"   20 answers in {elapsed:.0f} ms; {served} of them shared the one in flight")


def _timed(label: str, call: Any) -> None:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    print(
        f"   {label:<10} provider={response.provider} model={response.model} "
        f"latency={elapsed:8.2f} ms from_cache={response.metadata['from_cache']}"
    )


def _short_key(logger: Any, method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Demo output only: a key's first 12 hex digits are enough to tell entries apart."""
    if isinstance(event.get("key"), str):
        event["key"] = event["key"][:12] + "…"
    return event


def _dollars(logger: Any, method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Demo output only: amounts in USD (``*_usd``) rounded for people, not ``7.05e-06``."""
    for name, value in event.items():
        if name.endswith("_usd") and isinstance(value, int | float):
            event[name] = dollars(value)
    return event


def _section(title: str) -> None:
    print(f"\n{title}")


@contextlib.contextmanager
def _endpoint() -> Iterator[_Endpoint]:
    """The provider to call: a real one when its key is set, else the simulated endpoint."""
    for env_var, provider in _LIVE:
        if os.environ.get(env_var):
            label = f"calling {provider} for real ({env_var} is set)"
            yield _Endpoint(provider, {}, label, lambda: None, key_env=env_var)
            return
    for env_var in _LIVE_GEMINI:
        if os.environ.get(env_var):
            label = f"calling gemini for real ({env_var} is set)"
            yield _Endpoint("gemini", {}, label, lambda: None, key_env=env_var)
            return
    with SimulatedOpenAI(latency=0.3) as server:
        label = (
            f"SIMULATED OpenAI-compatible endpoint at {server.url} (300 ms per answer); "
            "set OPENAI_API_KEY to call the real API"
        )
        options = {"base_url": server.url, "api_key": "simulated-key", "model": "gpt-4o-mini"}
        yield _Endpoint("openai", options, label, lambda: server.calls)
