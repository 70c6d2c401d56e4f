"""What a response cost: list prices per model, in USD per million tokens.

Prices are the providers' public list prices for standard (non-batch)
requests at the base context tier; long-context surcharges and prompt-cache
discounts are not modelled, so a cost is an estimate. Dated snapshots and
aliases resolve to their family's entry by longest prefix
(``gpt-4o-mini-2024-07-18`` → ``gpt-4o-mini``, ``claude-3-5-haiku-latest``
→ ``claude-3-5-haiku``). Unknown models cost ``None``, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from exllm_py.types import Usage

__all__ = ["PRICES", "Price", "cost_of", "price_of"]


@attrs.frozen
class Price:
    """USD per million input tokens and per million output tokens."""

    input: float
    output: float

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` at this price, in USD."""
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / 1_000_000


PRICES: Mapping[str, Price] = {
    # OpenAI
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00),
    "o1-mini": Price(1.10, 4.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    # Anthropic
    "claude-opus-4-5": Price(5.00, 25.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-3-haiku": Price(0.25, 1.25),
    # Google Gemini
    "gemini-2.5-pro": Price(1.25, 10.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gemini-2.0-flash": Price(0.10, 0.40),
    "gemini-2.0-flash-lite": Price(0.075, 0.30),
    "gemini-1.5-pro": Price(1.25, 5.00),
    "gemini-1.5-flash": Price(0.075, 0.30),
    # Groq
    "llama-3.1-8b-instant": Price(0.05, 0.08),
    "llama-3.3-70b-versatile": Price(0.59, 0.79),
    "gemma2-9b-it": Price(0.20, 0.20),
    # Mistral
    "mistral-large": Price(2.00, 6.00),
    "mistral-medium": Price(0.40, 2.00),
    "mistral-small": Price(0.10, 0.30),
    "codestral": Price(0.30, 0.90),
    "open-mistral-nemo": Price(0.15, 0.15),
    "ministral-8b": Price(0.10, 0.10),
    "ministral-3b": Price(0.04, 0.04),
    # xAI
    "grok-4": Price(3.00, 15.00),
    "grok-3": Price(3.00, 15.00),
    "grok-3-mini": Price(0.30, 0.50),
    "grok-2": Price(2.00, 10.00),
    # exllm_py's offline mock provider answers for free.
    "mock": Price(0.0, 0.0),
}

# Longest names first, so the first prefix that matches is the longest.
_BY_LENGTH = sorted(PRICES, key=len, reverse=True)


def price_of(model: str) -> Price | None:
    """The price of ``model``, its dated variants and aliases included; ``None`` when unknown.

    A vendor prefix (``openai/gpt-4o`` on OpenRouter, ``models/gemini-…``)
    is ignored. A family name matches whole segments only: ``gpt-4o`` prices
    ``gpt-4o-2024-08-06``, and ``gpt-4`` never prices a ``gpt-4o…`` model.
    """
    name = model.rsplit("/", 1)[-1].lower()
    for family in _BY_LENGTH:
        if name == family or name.startswith((f"{family}-", f"{family}:", f"{family}@")):
            return PRICES[family]
    return None


def cost_of(model: str, usage: Usage) -> float | None:
    """USD cost of ``usage`` on ``model``, or ``None`` when the model's price is unknown."""
    price = price_of(model)
    return None if price is None else price.cost(usage)
