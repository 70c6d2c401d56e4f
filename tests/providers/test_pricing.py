"""Tests of the pricing table and cost computation."""

from __future__ import annotations

import attrs
import pytest

from exllm_py.providers.pricing import PRICES, Price, cost_of, price_of
from exllm_py.types import Usage

MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000, total_tokens=2_000_000)


class TestPrice:
    """A price is a frozen pair of USD-per-million rates."""

    def test_cost_is_linear_in_tokens(self) -> None:
        price = Price(input=2.5, output=10.0)
        usage = Usage(input_tokens=1000, output_tokens=500, total_tokens=1500)
        assert price.cost(usage) == pytest.approx(0.0025 + 0.005)

    def test_frozen(self) -> None:
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            Price(1.0, 2.0).input = 3.0  # type: ignore[misc]

    def test_every_entry_is_non_negative(self) -> None:
        assert all(p.input >= 0 and p.output >= 0 for p in PRICES.values())


class TestCostOf:
    """Costs come from the table; dated variants and aliases resolve by longest prefix."""

    @pytest.mark.parametrize(
        ("model", "family"),
        [
            ("gpt-4o-mini", "gpt-4o-mini"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
            ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
            ("claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("claude-opus-4-20250514", "claude-opus-4"),
            ("gemini-2.0-flash-001", "gemini-2.0-flash"),
            ("gemini-2.0-flash-lite", "gemini-2.0-flash-lite"),
            ("models/gemini-1.5-pro", "gemini-1.5-pro"),
            ("openai/gpt-4o", "gpt-4o"),
            ("mistral-small-latest", "mistral-small"),
            ("grok-2-1212", "grok-2"),
            ("llama-3.1-8b-instant", "llama-3.1-8b-instant"),
            ("mock-1", "mock"),
        ],
    )
    def test_variants_resolve_to_their_family(self, model: str, family: str) -> None:
        assert price_of(model) == PRICES[family]

    def test_known_model_costs_its_list_price(self) -> None:
        assert cost_of("gpt-4o-mini", MILLION) == pytest.approx(0.15 + 0.60)
        assert cost_of("claude-3-5-haiku-20241022", MILLION) == pytest.approx(0.80 + 4.00)
        assert cost_of("gemini-2.0-flash", MILLION) == pytest.approx(0.10 + 0.40)

    @pytest.mark.parametrize("model", ["llama3.2", "my-finetune", "gpt-4oz", "", "o9"])
    def test_unknown_model_costs_none(self, model: str) -> None:
        assert cost_of(model, MILLION) is None

    def test_prefix_matches_whole_segments_only(self) -> None:
        assert price_of("gpt-4-0613") == PRICES["gpt-4"]
        assert price_of("gpt-4o") == PRICES["gpt-4o"]
        assert price_of("gpt-4o") != PRICES["gpt-4"]

    def test_zero_usage_costs_zero(self) -> None:
        assert cost_of("gpt-4o", Usage()) == 0.0

    def test_every_provider_is_covered(self) -> None:
        for model in [
            "gpt-4o",
            "claude-3-5-sonnet",
            "gemini-2.5-pro",
            "llama-3.3-70b-versatile",
            "mistral-large",
            "grok-3",
        ]:
            assert cost_of(model, MILLION) is not None, model
