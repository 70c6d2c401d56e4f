"""Tests for exllm_py.testing.isolation: fresh caches per test, the user's choices kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

import exllm_py
import exllm_py.client
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.client import default_client
from exllm_py.testing.isolation import (
    STRATEGY_ENV,
    choose_strategy_env,
    recording_default_client,
    start_test,
)
from exllm_py.testing.strategy import TestStrategy


class TestChooseStrategyEnv:
    """The run uses the test strategy only when the user named none."""

    @pytest.mark.parametrize("env", [{}, {STRATEGY_ENV: ""}, {STRATEGY_ENV: "  "}])
    def test_unset_becomes_test(self, env: dict[str, str]) -> None:
        env = dict(env)  # the parameter is shared by every run of this test in a process
        assert choose_strategy_env(env) is True
        assert env == {STRATEGY_ENV: "test"}

    @pytest.mark.parametrize("chosen", ["none", "production", "test", "NONE"])
    def test_a_chosen_strategy_is_kept(self, chosen: str) -> None:
        env = {STRATEGY_ENV: chosen}
        assert choose_strategy_env(env) is False
        assert env == {STRATEGY_ENV: chosen}


class TestStartTest:
    """Before each test the default client's own test cache starts afresh; nothing else changes."""

    def test_cache_the_environment_made_is_fresh(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(STRATEGY_ENV, "test")
        client = default_client()
        strategy = client.cache_strategy
        assert isinstance(strategy, TestStrategy)
        messages = [{"role": "user", "content": "Hi"}]
        client.chat("mock", messages)
        assert client.chat("mock", messages).metadata["from_cache"] is True
        start_test()
        assert default_client() is client
        assert client.cache_strategy is strategy
        assert client.chat("mock", messages).metadata["from_cache"] is False

    def test_configured_strategies_are_untouched(self) -> None:
        delegate = ProductionStrategy()
        configured = TestStrategy(delegate)
        exllm_py.configure(cache_strategy=configured)
        start_test()
        assert default_client().cache_strategy is configured
        assert configured.delegate is delegate

    def test_no_default_client_is_created(self) -> None:
        exllm_py.client.reset_default_client()
        start_test()
        assert exllm_py.client._default is None

    def test_before_the_client_module_is_imported_nothing_is_done(self) -> None:
        """In a process that never imported the client, it returns and imports none."""
        probe = (
            "import sys\n"
            "from exllm_py.testing.isolation import start_test\n"
            "start_test()\n"
            "print('exllm_py.client' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=False
        )
        assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


class TestRecordingDefaultClient:
    """A live_api test records through any strategy; the user's is back afterwards."""

    def test_user_strategy_is_wrapped_then_restored(self) -> None:
        chosen = NoCache()
        client = exllm_py.configure(cache_strategy=chosen)
        env = {STRATEGY_ENV: "none"}
        with recording_default_client(env):
            wrapper = client.cache_strategy
            assert isinstance(wrapper, TestStrategy)
            assert wrapper.delegate is chosen
            assert env == {STRATEGY_ENV: "test"}
        assert client.cache_strategy is chosen
        assert env == {STRATEGY_ENV: "none"}

    def test_default_client_comes_from_the_users_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        exllm_py.client.reset_default_client()
        monkeypatch.setenv(STRATEGY_ENV, "none")
        with recording_default_client():
            assert isinstance(default_client().cache_strategy, TestStrategy)
        assert isinstance(default_client().cache_strategy, NoCache)

    def test_a_test_strategy_is_used_as_it_is(self) -> None:
        configured = TestStrategy(NoCache())
        client = exllm_py.configure(cache_strategy=configured)
        env: dict[str, str] = {}
        with recording_default_client(env):
            assert client.cache_strategy is configured
            assert env == {STRATEGY_ENV: "test"}
        assert env == {}

    def test_strategy_the_test_configured_is_kept(self) -> None:
        client = exllm_py.configure(cache_strategy=NoCache())
        mine = ProductionStrategy()
        with recording_default_client({}):
            exllm_py.configure(cache_strategy=mine)
        assert client.cache_strategy is mine


class TestRecordingWrapperReuse:
    """Successive live_api tests share one recording wrapper per user strategy."""

    def test_the_same_wrapper_serves_every_test(self) -> None:
        chosen = NoCache()
        client = exllm_py.configure(cache_strategy=chosen)
        wrappers = []
        for _ in range(3):
            with recording_default_client({}):
                wrappers.append(client.cache_strategy)
        assert wrappers[0] is wrappers[1] is wrappers[2]
        assert isinstance(wrappers[0], TestStrategy)
        assert client.cache_strategy is chosen

    def test_a_new_user_strategy_gets_its_own_wrapper(self) -> None:
        first, second = NoCache(), NoCache()
        client = exllm_py.configure(cache_strategy=first)
        with recording_default_client({}):
            wrapper = client.cache_strategy
        exllm_py.configure(cache_strategy=second)
        with recording_default_client({}):
            assert isinstance(client.cache_strategy, TestStrategy)
            assert client.cache_strategy is not wrapper
            assert client.cache_strategy.delegate is second
        assert client.cache_strategy is second
