"""The picture of ``make bench-semantic``: wrong answers against right ones.

Drawn from the held-out split when there is one (the pairs nothing was
tuned on), else from the whole sample. Left, the trade-off: each curve runs
over the thresholds (0.70 to 0.98), wrong-answer rate on a log axis so the
1% line is readable, right-answer rate up; GPTCache's suggested
configuration is one point, the library's default threshold (chosen on the
tuning split) another. Right, both rates against the threshold. The target
region (wrong <= 1%, right >= 25%) is bounded by a dashed line on each axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen here, and none needed for a file

import matplotlib.pyplot as plt

__all__ = ["plot"]

_LEFT = 2e-3  # the wrong-answer axis starts here: the rates of interest lie above it
_CURVES = (("plain", "cosine only", "tab:red"), ("guarded", "cosine + lexical guard", "tab:blue"))
_ANNOTATED = (0.70, 0.80, 0.90, 0.95, 0.98)  # the thresholds written beside the curves


def _annotated_indices(thresholds: Sequence[float]) -> list[int]:
    return [i for i, t in enumerate(thresholds) if any(abs(t - a) < 1e-9 for a in _ANNOTATED)]


def plot(report: Mapping[str, Any], path: Path) -> Path:
    """Draw both panels from the report's numbers into a small PNG at ``path``."""
    name = "held_out" if "held_out" in report["splits"] else "all"
    split = report["splits"][name]
    figure, (tradeoff, by_threshold) = plt.subplots(1, 2, figsize=(11, 4.4))
    _tradeoff(tradeoff, report, split)
    _default(tradeoff, report, name)
    tradeoff.legend(fontsize=8, loc="upper left")
    _by_threshold(by_threshold, report, split)
    which = "held-out " if name == "held_out" else ""
    figure.suptitle(
        f"Semantic cache on {split['pairs']:,} {which}QQP pairs ({report['embedder']}): "
        "cache text_a, ask text_b",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _tradeoff(axes: Any, report: Mapping[str, Any], split: Mapping[str, Any]) -> None:
    thresholds: Sequence[float] = report["thresholds"]
    for key, label, colour in _CURVES:
        rates = split[key]
        wrong = [max(r["wrong_rate"], _LEFT) for r in rates]  # log axis: no zeros
        right = [r["right_rate"] for r in rates]
        axes.plot(wrong, right, marker=".", color=colour, label=label)
        for i in _annotated_indices(thresholds):
            axes.annotate(
                f"{thresholds[i]:.2f}",
                (wrong[i], right[i]),
                fontsize=7,
                xytext=(3, -9),
                textcoords="offset points",
                color=colour,
            )
    gpt = split["gptcache"]
    axes.plot(
        gpt["wrong_rate"],
        gpt["right_rate"],
        marker="*",
        markersize=14,
        color="tab:orange",
        linestyle="none",
        label="GPTCache suggested (cos >= 0.60)",
    )
    _target_region(axes, report["target"])
    axes.set_xscale("log")
    axes.set_xlim(_LEFT, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("wrong-answer rate (label-0 pairs served), log scale")
    axes.set_ylabel("right-answer rate (label-1 pairs served)")
    axes.grid(alpha=0.3, which="both")


def _default(axes: Any, report: Mapping[str, Any], name: str) -> None:
    """Ring the library's default: the threshold chosen on the tuning split."""
    chosen = report["default_guarded"]
    if chosen.get("threshold") is None or name not in chosen:
        return
    rates = chosen[name]
    axes.plot(
        max(rates["wrong_rate"], _LEFT),
        rates["right_rate"],
        marker="o",
        markersize=11,
        markerfacecolor="none",
        color="black",
        linestyle="none",
        label=f"default {chosen['threshold']} (chosen on the tuning split)",
    )


def _by_threshold(axes: Any, report: Mapping[str, Any], split: Mapping[str, Any]) -> None:
    thresholds = report["thresholds"]
    for key, label, colour in _CURVES:
        rates = split[key]
        axes.plot(
            thresholds,
            [r["wrong_rate"] for r in rates],
            color=colour,
            linestyle="--",
            label=f"wrong, {label}",
        )
        axes.plot(
            thresholds, [r["right_rate"] for r in rates], color=colour, label=f"right, {label}"
        )
    axes.set_yscale("log")
    target = report["target"]
    axes.axhline(target["wrong_rate_max"], color="grey", linestyle=":", linewidth=1)
    axes.axhline(target["right_rate_min"], color="grey", linestyle=":", linewidth=1)
    # Labelled mid-axis, clear of the legend and of the curves.
    middle = thresholds[len(thresholds) // 2]
    axes.text(middle, target["wrong_rate_max"] * 1.1, "1% wrong", fontsize=7)
    axes.text(middle, target["right_rate_min"] * 1.1, "25% right", fontsize=7)
    axes.set_xlabel("cosine threshold")
    axes.set_ylabel("share of pairs served, log scale")
    axes.legend(fontsize=7, loc="lower left")
    axes.grid(alpha=0.3, which="both")


def _target_region(axes: Any, target: Mapping[str, float]) -> None:
    """Shade where the default must land: wrong <= 1% and right >= 25%."""
    wrong, right = target["wrong_rate_max"], target["right_rate_min"]
    axes.axvline(wrong, color="grey", linestyle=":", linewidth=1)
    axes.axhline(right, color="grey", linestyle=":", linewidth=1)
    # ymin is a fraction of the axis height, which is why the y range is pinned to 0..1.
    axes.axvspan(_LEFT, wrong, ymin=right, color="green", alpha=0.08, label="target")
