"""RedisStore's documented value limits: zlib above 1 KiB, nothing stored above 1 MiB.

The README: "values are compact JSON, zlib-compressed above 1 KiB […];
values over ``max_value_bytes`` (1 MiB) are not stored". Each test builds
an entry whose JSON is an exact number of bytes, stores it through a
``RedisStore`` left at its defaults for the setting under test, and reads
the raw value back with redis-py.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator

import pytest
import redis

from exllm_py.cache.entry import CacheEntry, dump_entry, make_entry
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.types import LLMResponse

KIB = 1024
MIB = 1024 * 1024
NAMESPACE = "limits"


def entry_of_size(size: int) -> CacheEntry:
    """An entry whose stored JSON (:func:`dump_entry`) is exactly ``size`` bytes.

    Its content is one repeated ASCII letter, so it compresses very well.
    """
    now = time.time()

    def build(length: int) -> CacheEntry:
        response = LLMResponse(content="x" * length, model="m", provider="mock")
        return make_entry(response, "key", now, None)

    overhead = len(dump_entry(build(0)))
    assert size > overhead, f"an entry cannot be smaller than {overhead} bytes"
    entry = build(size - overhead)
    assert len(dump_entry(entry)) == size
    return entry


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test's server, to read what the store wrote."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def default_store(redis_url: str) -> Iterator[RedisStore]:
    """A RedisStore with the default compression threshold and value limit."""
    store = RedisStore(redis_url, namespace=NAMESPACE, timeout=5.0)
    yield store
    store.close()


@pytest.fixture
def uncompressed_store(redis_url: str) -> Iterator[RedisStore]:
    """A RedisStore with the default value limit and no compression, so sizes are exact."""
    store = RedisStore(redis_url, namespace=NAMESPACE, timeout=5.0, compress_threshold=None)
    yield store
    store.close()


def _stored(raw: redis.Redis, key: str) -> bytes | None:
    value = raw.get(f"{NAMESPACE}:{key}")
    assert value is None or isinstance(value, bytes)
    return value


class TestCompressionThreshold:
    """Entry JSON of at most 1 KiB is stored as it is; above 1 KiB, zlib-compressed."""

    @pytest.mark.parametrize("size", [KIB - 1, KIB])
    def test_up_to_1_kib_is_plain_json(
        self, default_store: RedisStore, raw: redis.Redis, size: int
    ) -> None:
        entry = entry_of_size(size)
        default_store.set("key", entry)
        assert _stored(raw, "key") == dump_entry(entry)

    @pytest.mark.parametrize("size", [KIB + 1, 4 * KIB])
    def test_above_1_kib_is_compressed(
        self, default_store: RedisStore, raw: redis.Redis, size: int
    ) -> None:
        entry = entry_of_size(size)
        default_store.set("key", entry)
        value = _stored(raw, "key")
        assert value is not None
        assert value[:1] == b"z"
        assert len(value) < size
        assert zlib.decompress(value[1:]) == dump_entry(entry)

    def test_a_compressed_value_reads_back_equal(self, default_store: RedisStore) -> None:
        entry = entry_of_size(KIB + 1)
        default_store.set("key", entry)
        found = default_store.get("key")
        assert found is not None
        assert found.response.content == entry.response.content


class TestMaxValueBytes:
    """A value of up to 1 MiB is stored; a value of 1 MiB + 1 byte is not."""

    @pytest.mark.parametrize("size", [MIB - 1, MIB])
    def test_up_to_1_mib_is_stored(
        self, uncompressed_store: RedisStore, raw: redis.Redis, size: int
    ) -> None:
        entry = entry_of_size(size)
        uncompressed_store.set("key", entry)
        value = _stored(raw, "key")
        assert value is not None
        assert len(value) == size
        found = uncompressed_store.get("key")
        assert found is not None
        assert found.response.content == entry.response.content

    def test_1_mib_plus_one_is_not_stored(
        self, uncompressed_store: RedisStore, raw: redis.Redis
    ) -> None:
        uncompressed_store.set("key", entry_of_size(MIB + 1))
        assert _stored(raw, "key") is None
        assert uncompressed_store.get("key") is None

    def test_1_mib_plus_one_also_removes_the_previous_answer(
        self, uncompressed_store: RedisStore, raw: redis.Redis
    ) -> None:
        uncompressed_store.set("key", entry_of_size(KIB))
        uncompressed_store.set("key", entry_of_size(MIB + 1))
        assert _stored(raw, "key") is None

    def test_the_limit_is_on_the_value_as_stored(
        self, default_store: RedisStore, raw: redis.Redis
    ) -> None:
        """With compression on, 2 MiB of JSON that compresses well is stored."""
        entry = entry_of_size(2 * MIB)
        default_store.set("key", entry)
        value = _stored(raw, "key")
        assert value is not None
        assert len(value) <= MIB
