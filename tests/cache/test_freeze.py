"""Read-only JSON values: equal to what they were made from, refusing every edit."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exllm_py.cache.freeze import FrozenDict, FrozenList, deep_freeze, thaw

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def containers(value: Any) -> list[Any]:
    """Every dict and list inside ``value``, itself included."""
    found = []
    if isinstance(value, (dict, list)):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            found += containers(item)
    return found


DICT_EDITS: list[Callable[[dict[str, Any]], object]] = [
    lambda d: d.__setitem__("new", 1),
    lambda d: d.update(new=1),
    lambda d: d.setdefault("new", 1),
    lambda d: d.pop("new", None),
    lambda d: d.popitem(),
    lambda d: d.clear(),
    lambda d: d.__ior__({"new": 1}),
]
LIST_EDITS: list[Callable[[list[Any]], object]] = [
    lambda items: items.append(1),
    lambda items: items.extend([1]),
    lambda items: items.insert(0, 1),
    lambda items: items.__setitem__(slice(None), []),
    lambda items: items.__iadd__([1]),
    lambda items: items.__imul__(2),
    lambda items: items.pop(),
    lambda items: items.remove(None),
    lambda items: items.sort(),
    lambda items: items.reverse(),
    lambda items: items.clear(),
]


class TestDeepFreeze:
    """A frozen value is the same JSON, and every container in it refuses edits."""

    @given(JSON)
    def test_equal_and_serialized_alike(self, value: Any) -> None:
        frozen = deep_freeze(value)
        assert frozen == value
        assert json.dumps(frozen, sort_keys=True) == json.dumps(value, sort_keys=True)
        assert orjson.dumps(frozen) == orjson.dumps(value)

    @given(JSON)
    def test_every_container_inside_refuses_every_edit(self, value: Any) -> None:
        frozen = deep_freeze(value)
        for container in containers(frozen):
            assert type(container) in (FrozenDict, FrozenList)
            edits = DICT_EDITS if isinstance(container, dict) else LIST_EDITS
            for edit in edits:
                with pytest.raises(TypeError, match="read-only"):
                    edit(container)
        assert frozen == value

    @given(JSON)
    def test_the_original_is_neither_changed_nor_shared(self, value: Any) -> None:
        frozen = deep_freeze(value)
        originals = {id(container) for container in containers(value)}
        assert not originals & {id(container) for container in containers(frozen)}

    def test_freezing_again_costs_no_copy(self) -> None:
        frozen = deep_freeze({"a": [1, {"b": 2}]})
        assert deep_freeze(frozen) is frozen


class Pair(NamedTuple):
    """A tuple subclass of the caller's own, as tool code may put in ``raw``."""

    left: Any
    right: Any


class TestFreezingTuples:
    """A plain tuple is rebuilt only when something in it froze; a tuple subclass is kept."""

    def test_a_tuple_holding_containers_is_rebuilt_around_frozen_ones(self) -> None:
        """The dict and list inside come back frozen, in a new plain tuple; the original stays."""
        value = ({"a": [1, 2]}, "text", [3])
        frozen = deep_freeze(value)
        assert type(frozen) is tuple
        assert frozen == value
        assert [type(item) for item in frozen] == [FrozenDict, str, FrozenList]
        assert type(frozen[0]["a"]) is FrozenList
        assert [type(item) for item in value] == [dict, str, list]

    def test_a_tuple_of_immutable_values_is_the_same_object(self) -> None:
        """Nothing inside needed freezing, so no copy is made."""
        value = (1, "text", None, (2.5, True))
        assert deep_freeze(value) is value

    def test_a_tuple_subclass_is_left_as_it_is(self) -> None:
        """Rebuilding a named tuple as a plain tuple would lose its type and field names."""
        pair = Pair({"a": 1}, [2])
        frozen = deep_freeze({"pair": pair})
        assert frozen["pair"] is pair
        assert frozen["pair"].left == {"a": 1}


class TestCopies:
    """Copies are for editing: plain; pickling keeps a value frozen."""

    @given(JSON)
    def test_deepcopy_and_thaw_give_an_editable_equal_value(self, value: Any) -> None:
        frozen = deep_freeze(value)
        for thawed in (thaw(frozen), copy.deepcopy(frozen)):
            assert thawed == value
            assert all(type(c) in (dict, list) for c in containers(thawed))

    def test_shallow_copies_are_plain(self) -> None:
        frozen = deep_freeze({"a": [1]})
        assert type(copy.copy(frozen)) is dict
        assert type(frozen.copy()) is dict
        assert type(copy.copy(frozen["a"])) is list
        assert type(frozen["a"][:]) is list

    @given(JSON)
    def test_pickle_round_trips_frozen(self, value: Any) -> None:
        frozen = deep_freeze(value)
        back = pickle.loads(pickle.dumps(frozen))
        assert back == value
        assert [type(c) for c in containers(back)] == [type(c) for c in containers(frozen)]


class TestRefusal:
    """An edit is refused with a message that says what the value is and what to do instead."""

    @pytest.mark.parametrize(
        ("value", "kind"), [(FrozenDict({"a": 1}), "FrozenDict"), (FrozenList([1]), "FrozenList")]
    )
    def test_the_message_names_the_kind_and_the_fix(self, value: Any, kind: str) -> None:
        with pytest.raises(TypeError) as raised:
            value.clear()
        assert str(raised.value) == (
            f"this {kind} belongs to a cached response and is shared by every cache hit, "
            "so it is read-only; edit a copy (copy.deepcopy(value))"
        )


class TestThawTuples:
    """Tuples thaw too: what they hold comes back plain, the tuple stays a tuple."""

    def test_a_tuple_of_frozen_values_thaws_to_a_tuple_of_plain_ones(self) -> None:
        frozen = deep_freeze(({"a": [1, 2]}, [3], "text"))
        thawed = thaw(frozen)
        assert thawed == ({"a": [1, 2]}, [3], "text")
        assert type(thawed) is tuple
        assert [type(item) for item in thawed] == [dict, list, str]
        assert type(thawed[0]["a"]) is list
