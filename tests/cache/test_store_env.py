"""store_from_env and byte_count: the production store the EXLLM_* variables describe."""

from __future__ import annotations

from pathlib import Path

import pytest

from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import default_directory
from exllm_py.cache.stores.env import byte_count, store_from_env
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.errors import ConfigurationError
from tests.cache.test_store_contract import entry
from tests.clocks import FakeClock


class TestByteCount:
    """EXLLM_CACHE_MAX_BYTES reads as whole bytes, with an optional K, M or G in powers of 1024."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1", 1),
            ("2", 2),
            ("4096", 4096),
            ("1K", 1024),
            ("512M", 512 * 1024**2),
            ("512m", 512 * 1024**2),
            (" 12 g ", 12 * 1024**3),
            ("75k", 75 * 1024),
        ],
    )
    def test_a_size_is_read_whole(self, text: str, expected: int) -> None:
        """Every digit counts, and the suffix multiplies all of them, in either case."""
        assert byte_count(text) == expected

    @pytest.mark.parametrize("text", ["0", "0K", "-1", "1.5M", "12T", "M", "", "ten"])
    def test_a_value_that_is_not_a_size_is_refused_with_the_rule(self, text: str) -> None:
        """The message names the variable, repeats the value and says what a size looks like."""
        with pytest.raises(ConfigurationError) as raised:
            byte_count(text)
        assert str(raised.value) == (
            f"EXLLM_CACHE_MAX_BYTES={text!r} is not a size; use a whole number of bytes "
            "of at least 1, optionally with K, M or G (such as 512M)"
        )


class TestDiskFromEnv:
    """EXLLM_CACHE_BACKEND=disk opens a DiskStore where EXLLM_CACHE_DIR says, else the default."""

    def test_no_directory_named_is_the_user_cache_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without EXLLM_CACHE_DIR (or with it blank) the store opens the platform's default."""
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        monkeypatch.chdir(tmp_path)
        blank = {"EXLLM_CACHE_BACKEND": " Disk ", "EXLLM_CACHE_DIR": "  "}
        for env in ({"EXLLM_CACHE_BACKEND": "disk"}, blank):
            store = store_from_env(env)
            assert isinstance(store, DiskStore)
            assert store.directory == default_directory() == tmp_path / "exllm_py"
            store.close()


class TestRedisFromEnv:
    """EXLLM_CACHE_BACKEND=redis makes a RedisStore on EXLLM_REDIS_URL, else on localhost."""

    def test_the_named_server_is_used(self, redis_url: str) -> None:
        """The store talks to the server EXLLM_REDIS_URL names."""
        store = store_from_env({"EXLLM_CACHE_BACKEND": "redis", "EXLLM_REDIS_URL": redis_url})
        assert isinstance(store, RedisStore)
        assert store.url == redis_url
        store.set("k", entry(FakeClock(), content="from the named server", ttl=None))
        found = store.get("k")
        assert found is not None
        assert found.response.content == "from the named server"
        store.close()

    @pytest.mark.parametrize("env", [{}, {"EXLLM_REDIS_URL": " "}])
    def test_no_server_named_is_the_local_default(self, env: dict[str, str]) -> None:
        """Without EXLLM_REDIS_URL (or with it blank) the URL is redis://localhost:6379/0."""
        store = store_from_env({"EXLLM_CACHE_BACKEND": "REDIS", **env})
        assert isinstance(store, RedisStore)
        assert store.url == "redis://localhost:6379/0"

    def test_the_byte_bound_is_not_read(self) -> None:
        """EXLLM_CACHE_MAX_BYTES bounds memory and disk only, so any value of it is left alone."""
        env = {"EXLLM_CACHE_BACKEND": "redis", "EXLLM_CACHE_MAX_BYTES": "lots"}
        assert isinstance(store_from_env(env), RedisStore)
        assert isinstance(store_from_env({"EXLLM_CACHE_MAX_BYTES": "1K"}), MemoryStore)

    def test_a_url_that_is_not_redis_names_the_variable(self) -> None:
        """The ConfigurationError points at EXLLM_REDIS_URL, the variable to fix."""
        env = {"EXLLM_CACHE_BACKEND": "redis", "EXLLM_REDIS_URL": "http://localhost:6379/0"}
        with pytest.raises(ConfigurationError) as raised:
            store_from_env(env)
        assert str(raised.value).startswith("EXLLM_CACHE_BACKEND=redis with EXLLM_REDIS_URL: ")
