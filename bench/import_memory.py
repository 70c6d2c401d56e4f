"""What a user pays before the first call and per stored answer: import time, memory per entry.

Import: each statement runs in a fresh interpreter (median of interleaved
rounds, so drift in machine load hits every statement alike), timed from
inside the process so that interpreter start-up, the same for all, does not
dilute the ratio. The peer is bare ``import httpx`` in the same venv, which
a call needs anyway.

Memory: 100k answers of ~2 KB, made as the OpenAI adapter makes them, are
stored in a ``MemoryStore`` the way the production strategy stores them,
and in a ``cachetools.TTLCache`` as they are. The overhead is what the
store holds beyond the keys and the responses themselves (traced
allocations): for ``MemoryStore``, whose entry keeps a served copy, the
caller's responses are dropped first, as they are once its calls return.
"""

from __future__ import annotations

import compileall
import gc
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sized
from pathlib import Path

import orjson

import exllm_py
from bench.measure import Row, row
from exllm_py.cache.entry import entry_labels, make_entry
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.registry import PROVIDERS
from exllm_py.types import LLMResponse

__all__ = ["main"]

ROUNDS = 15
ENTRIES = 100_000
#: (what the row says, the statement timed)
IMPORTS = [
    ("import httpx", "import httpx"),
    ("from exllm_py import Client", "from exllm_py import Client"),
    ("import exllm_py; exllm_py.chat", "import exllm_py; exllm_py.chat"),
]
_TIMED = "import time; t = time.perf_counter_ns(); {}; print(time.perf_counter_ns() - t)"


def main() -> list[Row]:
    print("\nImport time and memory per cached entry")
    return [*_import_rows(), *_memory_rows()]


def _import_ns(statement: str) -> int:
    # Run from the directory that holds the package measured, so that a
    # baseline checkout next to this one is measured the same way.
    root = Path(exllm_py.__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _TIMED.format(statement)],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def _import_rows() -> list[Row]:
    # Compiled first, as an installed package is: without its bytecode, each
    # fresh process would compile every module it imports.
    compileall.compile_dir(Path(exllm_py.__file__).parent, quiet=1)
    samples: dict[str, list[int]] = {label: [] for label, _ in IMPORTS}
    for _ in range(ROUNDS):
        for label, statement in IMPORTS:
            samples[label].append(_import_ns(statement))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    peer = medians["import httpx"]
    rows = [row(f"import httpx (median of {ROUNDS}, fresh processes)", _ms(peer), "-", True)]
    for label, _ in IMPORTS[1:]:
        ratio = medians[label] / peer
        value = f"{_ms(medians[label])} = {ratio:.2f}x"
        rows.append(row(label, value, "≤ 1.3x import httpx", ratio <= 1.3))
    return rows


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.1f} ms"


def _answers(count: int = ENTRIES) -> tuple[list[str], list[LLMResponse]]:
    """``count`` keys and distinct ~2 KB answers, parsed by the OpenAI adapter."""
    spec = PROVIDERS["openai"]
    config = ProviderConfig("openai", spec.adapter, spec.base_url, api_key="bench")
    keys, responses = [], []
    for index in range(count):
        text = f"answer {index}: " + "the train is faster door to door on a weekday. " * 14
        body = {
            "id": f"chatcmpl-{index}",
            "object": "chat.completion",
            "created": 1_700_000_000 + index,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 412, "completion_tokens": 320, "total_tokens": 732},
        }
        # Decoded from bytes, as the pipeline decodes a provider's answer.
        responses.append(spec.adapter.parse_response(orjson.loads(orjson.dumps(body)), config))
        keys.append(f"{index:064x}")
    return keys, responses


def _overhead(fill: Callable[[list[str], list[LLMResponse]], Sized]) -> float:
    """Bytes per entry that ``fill``'s container holds beyond the keys and the answers."""
    gc.collect()
    # Traced from before the answers are made, so that dropping them counts.
    tracemalloc.start()
    try:
        keys, responses = _answers()
        before = tracemalloc.get_traced_memory()[0]
        container = fill(keys, responses)
        del responses  # the callers' copies, gone once their calls return
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(container) == ENTRIES
    return (after - before) / ENTRIES


def _fill_store(keys: list[str], responses: list[LLMResponse]) -> MemoryStore:
    store = MemoryStore(max_entries=ENTRIES, max_bytes=1 << 40, cleanup_interval=None)
    labels = entry_labels("openai", "gpt-4o-mini", None, ())
    now = time.time()
    for key, response in zip(keys, responses, strict=True):
        # What ProductionStrategy stores on a miss, at a clock that moves on.
        store.set(key, make_entry(response, key, now, store.default_ttl, labels))
        now += 0.001
    return store


def _fill_ttlcache(keys: list[str], responses: list[LLMResponse]) -> Sized:
    from cachetools import TTLCache

    cache: TTLCache[str, LLMResponse] = TTLCache(maxsize=ENTRIES, ttl=900.0)
    for key, response in zip(keys, responses, strict=True):
        cache[key] = response
    return cache


def _memory_rows() -> list[Row]:
    try:
        import cachetools  # noqa: F401  # the peer; a dev dependency
    except ModuleNotFoundError:
        print("  memory per entry: skipped (pip install cachetools)")
        return []
    keys, responses = _answers(1)
    size = make_entry(responses[0], keys[0], time.time(), None).size
    peer = _overhead(_fill_ttlcache)
    ours = _overhead(_fill_store)
    ratio = ours / peer
    return [
        row(f"TTLCache overhead per entry (100k answers of {size} B)", f"{peer:.0f} B", "-", True),
        row(
            "MemoryStore overhead per entry",
            f"{ours:.0f} B = {ratio:.2f}x",
            "≤ 1.5x TTLCache",
            ratio <= 1.5,
        ),
    ]


if __name__ == "__main__":
    main()
