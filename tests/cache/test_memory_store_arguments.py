"""MemoryStore's constructor: each bad argument is refused with the whole story of what to pass."""

from __future__ import annotations

from typing import Any

import pytest

from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ValidationError


class TestTheMessages:
    """A refusal names the argument, what it must be and what it got, and nothing else."""

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"max_entries": "10"}, "MemoryStore max_entries must be an integer, got '10'"),
            ({"max_bytes": 0}, "MemoryStore max_bytes must be at least 1, got 0"),
            (
                {"default_ttl": -1},
                "MemoryStore default_ttl must be a positive number of seconds, at most "
                "315,360,000 (ten years), got -1 (or None: never expires)",
            ),
            (
                {"cleanup_interval": 0},
                "MemoryStore cleanup_interval must be a positive number of seconds, at most "
                "315,360,000 (ten years), got 0 (or None: no sweeping)",
            ),
            ({"clock": 5}, "MemoryStore clock must be a function returning epoch seconds, got 5"),
        ],
    )
    def test_a_bad_argument_is_named(self, arguments: dict[str, Any], message: str) -> None:
        """Each bad argument fails at construction with the message a caller can act on."""
        with pytest.raises(ValidationError) as raised:
            MemoryStore(**arguments)
        assert str(raised.value) == message
