"""The checks of settings and the messages they refuse with: ``exllm_py.cache.arguments``."""

from __future__ import annotations

import pytest

from exllm_py.cache.arguments import (
    MAX_STORE_TIMEOUT,
    MAX_TIMEOUT,
    MAX_TTL,
    check_callable,
    check_count,
    check_instance,
    check_seconds,
    check_store,
    check_strategy,
    check_ttl,
    shown,
)
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ValidationError


class TestShown:
    """A value is shown as its repr, unless it is an integer of more than 256 bits."""

    def test_an_integer_of_256_bits_is_shown_in_full(self) -> None:
        value = 2**255  # bit_length 256
        assert shown(value) == repr(value)

    def test_an_integer_of_257_bits_is_summarized(self) -> None:
        assert shown(2**256) == "an integer of about 78 digits"  # 2**256 has 78 digits

    def test_the_digit_count_is_the_real_one(self) -> None:
        assert shown(10**400) == "an integer of about 401 digits"
        assert shown(10**5000) == "an integer of about 5,001 digits"

    def test_a_negative_one_keeps_its_sign(self) -> None:
        assert shown(-(10**400)) == "-an integer of about 401 digits"

    def test_other_values_are_their_repr(self) -> None:
        assert [shown(value) for value in (True, -3, 1.5, "9")] == ["True", "-3", "1.5", "'9'"]


class TestCheckSecondsMessages:
    """A refused number of seconds names the argument, the bound, the value and what None does."""

    def test_without_a_meaning_for_none_the_message_ends_with_the_value(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_seconds("Lock wait", 0, maximum=MAX_TIMEOUT)
        assert str(raised.value) == (
            "Lock wait must be a positive number of seconds, at most 604,800 (a week), got 0"
        )

    def test_a_meaning_for_none_is_offered_as_the_alternative(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_ttl("Store ttl", MAX_TTL + 1)
        assert str(raised.value) == (
            "Store ttl must be a positive number of seconds, at most 315,360,000 (ten years), "
            f"got {MAX_TTL + 1} (or None: never expires)"
        )

    def test_a_value_that_is_no_number_says_so(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_seconds("Store timeout", "5", maximum=MAX_STORE_TIMEOUT)
        assert str(raised.value) == "Store timeout must be a positive number of seconds, got '5'"

    def test_the_store_bound_is_named_a_minute(self) -> None:
        with pytest.raises(ValidationError, match=r"at most 60 \(a minute\), got 61$"):
            check_seconds("Store timeout", 61, maximum=MAX_STORE_TIMEOUT)

    def test_another_bound_is_shown_as_a_number(self) -> None:
        with pytest.raises(ValidationError, match=r"at most 2\.5, got 3$"):
            check_seconds("Poll", 3, maximum=2.5)

    @pytest.mark.parametrize("value", [0.001, 2.5, 60])
    def test_an_accepted_value_comes_back_as_given(self, value: float) -> None:
        assert check_seconds("Store timeout", value, maximum=MAX_STORE_TIMEOUT) == value


class TestCheckCount:
    """A count is an int of at least its minimum; the message says which was wrong."""

    def test_below_the_minimum_names_the_minimum(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_count("Pool size", 2, minimum=3)
        assert str(raised.value) == "Pool size must be at least 3, got 2"

    def test_the_minimum_itself_is_accepted(self) -> None:
        assert check_count("Pool size", 3, minimum=3) == 3

    def test_without_a_minimum_one_is_enough(self) -> None:
        """A count is at least 1 unless the caller says otherwise."""
        assert check_count("Pool size", 1) == 1
        with pytest.raises(ValidationError, match="at least 1, got 0"):
            check_count("Pool size", 0)


class TestCheckKinds:
    """A value of the wrong kind is refused with what was expected and what came instead."""

    def test_an_instance_of_the_wrong_type_names_its_type_not_its_contents(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_instance("Store path", b"secret", str, "a directory path")
        assert str(raised.value) == "Store path must be a directory path, got bytes"
        check_instance("Store path", "/tmp/cache", str, "a directory path")

    def test_something_that_cannot_be_called_is_shown(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_callable("Key function", 42, "a function of the request")
        assert str(raised.value) == "Key function must be a function of the request, got 42"
        check_callable("Key function", len, "a function of the request")


class TestCheckStoreAndStrategy:
    """A store or strategy is an object with its protocol's attributes, any missing listed."""

    def test_an_object_without_them_is_told_what_it_lacks(self) -> None:
        with pytest.raises(ValidationError) as raised:
            check_strategy("Client cache_strategy", "production")
        assert str(raised.value) == (
            "Client cache_strategy must be a cache strategy such as ProductionStrategy(), "
            "TestStrategy() or NoCache(), got 'production' (it has no fetch, afetch, "
            "wrap_transport, wrap_async_transport, stats)"
        )

    def test_a_class_is_not_an_instance(self) -> None:
        """A class missing only instance attributes is refused, and they are listed."""
        with pytest.raises(ValidationError) as raised:
            check_store("ProductionStrategy store", MemoryStore)
        assert str(raised.value) == (
            "ProductionStrategy store must be a cache store such as MemoryStore() or "
            f"RedisStore(url), got {MemoryStore!r} (it has no default_ttl, clock)"
        )

    def test_a_class_with_every_attribute_is_still_refused(self) -> None:
        """Its methods are there but unbound, so nothing is listed as missing."""
        with pytest.raises(ValidationError) as raised:
            check_strategy("Client cache_strategy", NoCache)
        assert str(raised.value).endswith(f"or NoCache(), got {NoCache!r}")

    def test_a_real_store_and_strategy_are_accepted(self) -> None:
        check_store("ProductionStrategy store", MemoryStore(cleanup_interval=None))
        check_strategy("Client cache_strategy", NoCache())
