"""``python -m mutation``: score the last ``mutmut run`` per package.

A mutant counts as caught when a test failed, timed out or the type check
refused it. Survivors listed in ``mutation/equivalent.txt`` (one name a line,
``#`` and the reason after it) are equivalent: no test could tell them apart
from the original, so they leave the score's denominator. The report names
every other survivor, and every listed name that no longer survives (its
line can go). Exit status 1 when a package scores under the target.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

TARGET = 0.90
EQUIVALENT = Path(__file__).with_name("equivalent.txt")
# The packages the target applies to, as module-name prefixes (see pyproject's only_mutate).
PACKAGES = (
    "exllm_py.cache",
    "exllm_py.testing",
    "exllm_py.providers.sse",
    "exllm_py.providers.http_errors",
    "exllm_py.pipeline",
    "exllm_py.cli.orphans",
)
CAUGHT = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"skipped", "not checked", "check was interrupted by user"}


def read_results() -> dict[str, str]:
    """Every mutant's status, by name, from ``mutmut results --all true``."""
    output = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    results = {}
    for line in output.splitlines():
        name, colon, status = line.strip().rpartition(": ")
        if colon and name:
            results[name] = status
    return results


def read_equivalent(path: Path = EQUIVALENT) -> set[str]:
    """The mutant names judged equivalent (blank lines and ``#`` comments ignored)."""
    if not path.exists():
        return set()
    names = (line.partition("#")[0].strip() for line in path.read_text().splitlines())
    return {name for name in names if name}


def package_of(mutant: str) -> str | None:
    return next((p for p in PACKAGES if mutant == p or mutant.startswith(p + ".")), None)


def report(results: dict[str, str], equivalent: set[str]) -> int:
    counts: dict[str, Counter[str]] = {package: Counter() for package in PACKAGES}
    new_survivors = []
    for name, status in sorted(results.items()):
        package = package_of(name)
        if package is None or status in NOT_RUN:
            continue
        if status in CAUGHT:
            counts[package]["caught"] += 1
        elif name in equivalent:
            counts[package]["equivalent"] += 1
        else:
            counts[package]["missed"] += 1
            new_survivors.append(f"{name}: {status}")
    failing = 0
    print(f"{'package':34} {'caught':>7} {'missed':>7} {'equiv.':>7} {'score':>7}")
    for package, count in counts.items():
        judged = count["caught"] + count["missed"]
        score = count["caught"] / judged if judged else 1.0
        failing += score < TARGET
        flag = "" if score >= TARGET else f"  < {TARGET:.0%}"
        print(
            f"{package:34} {count['caught']:>7} {count['missed']:>7} "
            f"{count['equivalent']:>7} {score:>7.1%}{flag}"
        )
    if new_survivors:
        print(
            f"\n{len(new_survivors)} surviving mutants not judged equivalent "
            "(`mutmut show NAME` shows one):"
        )
        print("\n".join(f"  {line}" for line in new_survivors))
    stale = sorted(n for n in equivalent if results.get(n) not in (None, "survived", "no tests"))
    if stale:
        print(f"\n{len(stale)} names in {EQUIVALENT.name} no longer survive; remove them:")
        print("\n".join(f"  {name}" for name in stale))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(report(read_results(), read_equivalent()))
