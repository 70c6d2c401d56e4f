"""The arithmetic of ``make bench-semantic``: what a decision rule serves, per threshold.

A decision rule serves a pair when the cached ``text_a`` answers the asked
``text_b``. Served label-0 pairs are wrong answers, served label-1 pairs
right ones. This module turns masks of served pairs into :class:`Rates`,
one per threshold (:func:`curve`), reproduces GPTCache's suggested rule
(:func:`gptcache_served`), and picks a threshold from a curve
(:func:`lowest_within`). It knows nothing of files, models or splits.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["THRESHOLDS", "Rates", "curve", "gptcache_served", "lowest_within"]

# 0.70 to 0.90 by 0.01, then to 0.98 by 0.005: the default lives in the top
# band, where one step of 0.01 moves the right-answer rate by four points.
THRESHOLDS = tuple(
    [round(0.70 + step / 100, 3) for step in range(20)]
    + [round(0.90 + step / 200, 3) for step in range(17)]
)

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


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


def curve(cosine: Floats, exact: Mask, allowed: Mask, same: Mask) -> tuple[Rates, ...]:
    """The rates at every threshold: exact repeats, then allowed cosine hits."""
    return tuple(Rates.of(exact | ((cosine >= t) & allowed), same) for t in THRESHOLDS)


def lowest_within(rates: Sequence[Rates], wrong_max: float) -> int | None:
    """The index of the lowest threshold whose wrong-answer rate is at most ``wrong_max``.

    The lowest such threshold serves the most right answers: raising the
    threshold only ever takes pairs away.
    """
    return next((i for i, r in enumerate(rates) if r.wrong_rate <= wrong_max), None)


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
