"""``Deadlines``: a store's deadlines handed out soonest first, once due, whatever their order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exllm_py.cache.stores.deadlines import Deadlines


def _drain(deadlines: Deadlines, now: float) -> list[tuple[float, str]]:
    due = []
    while (item := deadlines.pop_due(now)) is not None:
        due.append(item)
    return due


class TestOrder:
    """Items come out soonest first, and only once their deadline is reached."""

    def test_nothing_is_due_before_its_deadline(self) -> None:
        deadlines = Deadlines()
        deadlines.push(10.0, "a")
        assert deadlines.pop_due(9.5) is None
        assert deadlines.pop_due(10.0) == (10.0, "a")

    def test_deadlines_in_order_come_out_in_order(self) -> None:
        deadlines = Deadlines()
        for index in range(5):
            deadlines.push(float(index), f"k{index}")
        assert _drain(deadlines, 2.0) == [(0.0, "k0"), (1.0, "k1"), (2.0, "k2")]
        assert len(deadlines) == 2

    def test_an_earlier_deadline_pushed_late_still_comes_out_first(self) -> None:
        deadlines = Deadlines()
        deadlines.push(900.0, "long")
        deadlines.push(60.0, "short")  # a shorter TTL, or a clock set back
        deadlines.push(901.0, "longer")
        assert _drain(deadlines, 1000.0) == [(60.0, "short"), (900.0, "long"), (901.0, "longer")]
        assert len(deadlines) == 0


class TestReset:
    """``reset`` keeps exactly the items given; ``clear`` keeps none."""

    def test_reset_replaces_every_item(self) -> None:
        deadlines = Deadlines()
        for deadline, key in [(5.0, "gone"), (1.0, "stale"), (7.0, "gone too")]:
            deadlines.push(deadline, key)
        deadlines.reset([(3.0, "b"), (2.0, "a")])
        assert len(deadlines) == 2
        assert _drain(deadlines, 10.0) == [(2.0, "a"), (3.0, "b")]

    def test_clear_empties(self) -> None:
        deadlines = Deadlines()
        deadlines.push(1.0, "a")
        deadlines.push(0.5, "b")
        deadlines.clear()
        assert len(deadlines) == 0
        assert deadlines.pop_due(10.0) is None


class TestAgainstASortedList:
    """Whatever the order of pushes, each drain gives the due items, as sorting would."""

    @given(
        pushes=st.lists(
            st.tuples(st.integers(0, 50).map(float), st.sampled_from("abcde")), max_size=40
        ),
        nows=st.lists(st.integers(0, 60).map(float), min_size=1, max_size=5),
    )
    def test_drains_match_a_sorted_list(
        self, pushes: list[tuple[float, str]], nows: list[float]
    ) -> None:
        deadlines, model = Deadlines(), []
        for deadline, key in pushes:
            deadlines.push(deadline, key)
            model.append((deadline, key))
        for now in sorted(nows):
            expected = sorted(item for item in model if item[0] <= now)
            model = [item for item in model if item[0] > now]
            got = _drain(deadlines, now)
            assert [deadline for deadline, _ in got] == [deadline for deadline, _ in expected]
            assert sorted(got) == expected
            assert len(deadlines) == len(model)
