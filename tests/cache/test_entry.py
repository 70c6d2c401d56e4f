"""Cache entries and their wire form: ``exllm_py.cache.entry``."""

from __future__ import annotations

import operator

import orjson
import pytest

from exllm_py.cache.entry import (
    ENTRY_FORMAT_VERSION,
    NO_LABELS,
    EntryLabels,
    dump_entry,
    entry_labels,
    load_entry,
    make_entry,
    served_from_cache,
)
from exllm_py.cache.freeze import FrozenDict, FrozenList
from exllm_py.types import LLMResponse, Usage

NOW = 1_700_000_000.0


def _response(**metadata: object) -> LLMResponse:
    return LLMResponse(
        "answer", "m", "mock", usage=Usage(3, 4, 7), cost=0.25, metadata=dict(metadata)
    )


class TestMakeEntry:
    """An entry holds the response as a hit serves it, its serialized size and its deadline."""

    def test_its_size_is_that_of_its_wire_form(self) -> None:
        entry = make_entry(_response(), "k", NOW, 30.0)
        assert entry.size == len(dump_entry(entry))

    def test_its_deadline_is_now_plus_the_ttl(self) -> None:
        entry = make_entry(_response(), "k", NOW, 30.0)
        assert (entry.stored_at, entry.expires_at) == (NOW, NOW + 30.0)
        assert make_entry(_response(), "k", NOW, None).expires_at is None

    def test_the_served_response_is_marked_and_free(self) -> None:
        served = make_entry(_response(), "k", NOW, 30.0).response
        marks = {name: served.metadata[name] for name in ("from_cache", "cache_key", "cached_at")}
        assert marks == {"from_cache": True, "cache_key": "k", "cached_at": NOW}
        assert (served.cost, served.metadata["saved_cost"]) == (0.0, 0.25)

    def test_an_answer_of_unknown_cost_stays_of_unknown_cost(self) -> None:
        response = LLMResponse("answer", "m", "mock")
        assert served_from_cache(response, "k", NOW).cost is None


class TestWireForm:
    """``dump_entry`` and ``load_entry`` round-trip an entry; anything else is a ValueError."""

    def test_a_round_trip_keeps_response_and_deadline(self) -> None:
        entry = make_entry(_response(), "k", NOW, 30.0)
        loaded = load_entry(dump_entry(entry))
        assert loaded.response == entry.response
        assert (loaded.stored_at, loaded.expires_at) == (NOW, NOW + 30.0)
        assert loaded.size == entry.size

    def test_an_entry_without_deadline_loads_without_one(self) -> None:
        loaded = load_entry(dump_entry(make_entry(_response(), "k", NOW, None)))
        assert loaded.expires_at is None

    def test_another_format_version_is_refused_naming_both(self) -> None:
        document = orjson.loads(dump_entry(make_entry(_response(), "k", NOW, 30.0)))
        document["v"] = ENTRY_FORMAT_VERSION + 1
        expected = f"^cache entry format {ENTRY_FORMAT_VERSION + 1} is not {ENTRY_FORMAT_VERSION}$"
        with pytest.raises(ValueError, match=expected):
            load_entry(orjson.dumps(document))

    def test_bytes_that_are_no_entry_say_what_is_missing(self) -> None:
        with pytest.raises(ValueError, match=r"^not a cache entry: 'stored_at'$"):
            load_entry(orjson.dumps({"v": ENTRY_FORMAT_VERSION, "response": _wire_response()}))

    def test_bytes_that_are_no_json_are_no_entry(self) -> None:
        with pytest.raises(ValueError, match=r"^not a cache entry: "):
            load_entry(b"\x00 not json")


class TestLabels:
    """An entry's labels (what invalidation selects by) go over the wire and come back."""

    def test_labels_round_trip_and_count_in_the_size(self) -> None:
        labels = entry_labels("openai", "gpt-4o", "tenant-a", ("docs-v3",))
        entry = make_entry(_response(), "k", NOW, 30.0, labels)
        loaded = load_entry(dump_entry(entry))
        assert loaded.labels == EntryLabels("openai", "gpt-4o", "tenant-a", ("docs-v3",))
        assert entry.size == len(dump_entry(entry))
        assert entry.size > make_entry(_response(), "k", NOW, 30.0).size

    def test_an_entry_written_without_labels_loads_unlabelled(self) -> None:
        """Entries stored before labels existed still load, and match no label filter."""
        document = orjson.loads(dump_entry(make_entry(_response(), "k", NOW, 30.0)))
        assert "labels" not in document
        assert load_entry(orjson.dumps(document)).labels is NO_LABELS

    @pytest.mark.parametrize("labels", [{"provider": "x"}, ["p", "m", None], "p"])
    def test_labels_of_another_shape_are_no_entry(self, labels: object) -> None:
        document = orjson.loads(dump_entry(make_entry(_response(), "k", NOW, 30.0)))
        document["labels"] = labels
        with pytest.raises(ValueError, match=r"^not a cache entry: labels must be"):
            load_entry(orjson.dumps(document))

    def test_alike_calls_share_one_labels_object(self) -> None:
        """Labels cost an entry one reference: the same labels are one object."""
        first = entry_labels("openai", "gpt-4o", None, ("t",))
        assert entry_labels("openai", "gpt-4o", None, ("t",)) is first


def _wire_response() -> object:
    entry = make_entry(_response(), "k", NOW, 30.0)
    return orjson.loads(dump_entry(entry))["response"]


class TestDecodedMetadata:
    """Decoded metadata is read-only, nested values included, whatever their kind."""

    def _loaded_metadata(self, **metadata: object) -> FrozenDict:
        entry = make_entry(_response(), "k", NOW, 30.0)
        document = orjson.loads(dump_entry(entry))
        document["response"]["metadata"].update(metadata)
        return load_entry(orjson.dumps(document)).response.metadata  # type: ignore[return-value]

    def test_scalar_metadata_is_read_only(self) -> None:
        metadata = self._loaded_metadata()
        assert type(metadata) is FrozenDict
        assert metadata["cache_key"] == "k"

    def test_a_nested_dict_is_read_only(self) -> None:
        metadata = self._loaded_metadata(route={"region": "eu"})
        assert type(metadata["route"]) is FrozenDict
        with pytest.raises(TypeError):
            operator.setitem(metadata["route"], "region", "us")

    def test_a_nested_list_is_read_only(self) -> None:
        metadata = self._loaded_metadata(hops=["a", "b"])
        assert type(metadata["hops"]) is FrozenList
        with pytest.raises(TypeError):
            metadata["hops"].append("c")
        assert metadata["cache_key"] == "k"
