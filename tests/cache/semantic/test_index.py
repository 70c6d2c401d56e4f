"""VectorIndex: exact cosine within a partition, rows that grow and are reused."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from exllm_py.cache.semantic.index import HEAD, MAX_CANDIDATES, VectorIndex
from tests.cache.test_fork_safety import run_in_child_while_held


@pytest.fixture
def index() -> VectorIndex:
    return VectorIndex()


class TestSearch:
    """A search sees its own partition only, and returns the closest first."""

    def test_cosine_is_independent_of_length(self, index: VectorIndex) -> None:
        index.add("p", "k1", "q1", [3.0, 4.0])
        [found] = index.search("p", [6.0, 8.0], 0.99)
        assert (found.key, found.question) == ("k1", "q1")
        assert found.similarity == pytest.approx(1.0)

    def test_other_partitions_are_never_seen(self, index: VectorIndex) -> None:
        index.add("p", "k1", "q1", [1.0, 0.0])
        assert index.search("other", [1.0, 0.0], 0.5) == []

    def test_results_are_above_the_threshold_best_first(self, index: VectorIndex) -> None:
        for degrees in (0, 10, 20, 60):
            angle = math.radians(degrees)
            index.add("p", f"k{degrees}", "q", [math.cos(angle), math.sin(angle)])
        found = index.search("p", [1.0, 0.0], math.cos(math.radians(30)))
        assert [candidate.key for candidate in found] == ["k0", "k10", "k20"]

    def test_at_most_the_best_few_come_back(self, index: VectorIndex) -> None:
        for number in range(3 * MAX_CANDIDATES):
            index.add("p", f"k{number}", "q", [1.0, number / 1000])
        found = index.search("p", [1.0, 0.0], 0.5)
        assert [candidate.key for candidate in found] == [f"k{n}" for n in range(MAX_CANDIDATES)]

    def test_a_zero_vector_is_neither_indexed_nor_searched(self, index: VectorIndex) -> None:
        index.add("p", "k", "q", [0.0, 0.0])
        assert len(index) == 0
        index.add("p", "k", "q", [1.0, 0.0])
        assert index.search("p", [0.0, 0.0], 0.1) == []

    def test_a_vector_of_another_dimension_is_never_compared(self, index: VectorIndex) -> None:
        index.add("p", "k", "q", [1.0, 0.0])
        index.add("p", "k3", "q", [1.0, 0.0, 0.0])
        assert "k3" not in index
        assert index.search("p", [1.0, 0.0, 0.0], 0.1) == []


class TestGrowthAndRemoval:
    """Inserts grow the matrix without losing rows; removals free rows for reuse."""

    def test_many_inserts_keep_every_vector(self, index: VectorIndex) -> None:
        for number in range(1000):
            angle = number * 0.001
            index.add("p", f"k{number}", f"q{number}", [math.cos(angle), math.sin(angle)])
        [found] = index.search("p", [math.cos(0.5), math.sin(0.5)], 0.9999999)
        assert found.key == "k500"
        assert len(index) == 1000

    def test_a_removed_key_is_never_found(self, index: VectorIndex) -> None:
        index.add("p", "k1", "q1", [1.0, 0.0])
        index.add("p", "k2", "q2", [1.0, 0.1])
        assert index.remove("k1") is True
        assert index.remove("k1") is False
        assert [candidate.key for candidate in index.search("p", [1.0, 0.0], 0.5)] == ["k2"]

    def test_a_freed_row_serves_its_new_key(self, index: VectorIndex) -> None:
        index.add("p", "k1", "q1", [1.0, 0.0])
        index.add("p", "k2", "q2", [0.0, 1.0])
        index.remove("k1")
        index.add("p", "k3", "q3", [1.0, 0.0])
        [found] = index.search("p", [1.0, 0.0], 0.9)
        assert (found.key, found.question) == ("k3", "q3")

    def test_an_emptied_partition_starts_over_with_any_dimension(self, index: VectorIndex) -> None:
        index.add("p", "old", "q", [1.0, 0.0])
        index.remove("old")
        index.add("p", "new", "q", [1.0, 0.0, 0.0])  # another embedder's size, say
        assert [candidate.key for candidate in index.search("p", [1.0, 0.0, 0.0], 0.9)] == ["new"]

    def test_a_key_indexed_again_moves(self, index: VectorIndex) -> None:
        index.add("p", "k", "old", [1.0, 0.0])
        index.add("q", "k", "new", [0.0, 1.0])
        assert index.search("p", [1.0, 0.0], 0.5) == []
        assert [c.question for c in index.search("q", [0.0, 1.0], 0.5)] == ["new"]
        assert len(index) == 1


class TestTwoStepSearch:
    """Large partitions of long vectors are pruned by a bound, and the result stays exact."""

    def test_every_row_above_the_threshold_is_found_and_no_other(self) -> None:
        rng = np.random.default_rng(7)
        dimension = 4 * HEAD + 128
        index = VectorIndex()
        for number, vector in enumerate(rng.standard_normal((5000, dimension))):
            index.add("p", f"noise{number}", "q", vector)
        query = rng.standard_normal(dimension)
        query /= np.linalg.norm(query)
        # Rows at known cosines from the query, straddling the threshold.
        cosines = [0.86, 0.89, 0.899, 0.901, 0.92, 0.97]
        for cosine in cosines:
            other = rng.standard_normal(dimension)
            other -= (other @ query) * query
            other /= np.linalg.norm(other)
            index.add("p", f"at{cosine}", "q", cosine * query + np.sqrt(1 - cosine**2) * other)
        found = index.search("p", query.tolist(), 0.9)
        assert [candidate.key for candidate in found] == ["at0.97", "at0.92", "at0.901"]
        assert [round(candidate.similarity, 3) for candidate in found] == [0.97, 0.92, 0.901]


class TestEdges:
    """The threshold is inclusive, and removed rows take no candidate's place, in both searches."""

    @pytest.mark.parametrize("filler", [0, 5000], ids=["one-step", "two-step"])
    def test_a_similarity_equal_to_the_threshold_matches(self, filler: int) -> None:
        index = _filled(filler)
        axis = np.zeros(4 * HEAD + 128)
        axis[0] = 1.0  # a unit vector whose similarity with itself is exactly 1.0
        index.add("p", "same", "q", axis)
        assert [candidate.key for candidate in index.search("p", axis, 1.0)] == ["same"]

    def test_rows_written_before_the_matrix_grew_are_still_found(self) -> None:
        index = VectorIndex()
        axis = np.zeros(4 * HEAD + 128)
        axis[1] = 1.0
        index.add("p", "early", "q", axis)  # in the first block, before any growth
        index = _filled(5000, index)
        [found] = index.search("p", axis, 0.99)
        assert found.key == "early"

    def test_removed_rows_never_crowd_out_a_live_candidate(self, index: VectorIndex) -> None:
        for number in range(MAX_CANDIDATES):
            index.add("p", f"gone{number}", "q", [1.0, 0.0])
        index.add("p", "live", "q", [1.0, 0.3])
        for number in range(MAX_CANDIDATES):
            index.remove(f"gone{number}")
        assert [candidate.key for candidate in index.search("p", [1.0, 0.0], 0.9)] == ["live"]


def _filled(rows: int, index: VectorIndex | None = None) -> VectorIndex:
    """``index`` (or a new one) with ``rows`` random vectors far from any axis, in partition p."""
    index = VectorIndex() if index is None else index
    rng = np.random.default_rng(3)
    for number, vector in enumerate(rng.standard_normal((rows, 4 * HEAD + 128))):
        index.add("p", f"noise{number}", "q", vector)
    return index


class TestBestFirst:
    """Whatever order rows were written in, the best candidates come back, capped at 1.0."""

    def test_the_best_candidates_win_whatever_the_insertion_order(self) -> None:
        index = VectorIndex()
        # Many candidates above the threshold, written in a shuffled order.
        order = np.random.default_rng(5).permutation(1000)
        for number in order.tolist():
            index.add("p", f"k{number}", "q", [1.0, number / 2000])
        found = index.search("p", [1.0, 0.0], 0.5)
        assert [candidate.key for candidate in found] == [f"k{n}" for n in range(MAX_CANDIDATES)]

    def test_a_similarity_never_exceeds_one(self) -> None:
        index = VectorIndex()
        vectors = np.random.default_rng(11).standard_normal((300, 384))
        for number, vector in enumerate(vectors):
            index.add("p", f"k{number}", "q", vector)
        similarities = [index.search("p", vector, 0.999)[0].similarity for vector in vectors]
        assert max(similarities) == 1.0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestAfterAFork:
    """A forked child uses the index even if a parent thread held its lock at the fork."""

    def test_the_child_adds_and_searches(self, index: VectorIndex) -> None:
        index.add("p", "before", "q1", [1.0, 0.0])

        def action() -> None:
            index.add("p", "in-child", "q2", [0.0, 1.0])
            assert [found.key for found in index.search("p", [0.0, 1.0], 0.9)] == ["in-child"]
            assert len(index) == 2

        run_in_child_while_held(index, "_lock", action)
