"""What a response cost: list prices per model, in USD per million tokens.

Prices are the providers' public list prices for standard (non-batch)
requests at the base context tier; long-context surcharges are not
modelled, so a cost is an estimate. Prompt-cache tokens are priced where the
provider prices them apart from input: reads (OpenAI, Anthropic, Gemini,
xAI) and writes (Anthropic's five-minute cache, 1.25 times input); elsewhere
they cost what input costs. Reasoning tokens are output and cost what
output costs, at every provider. Dated snapshots and
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
    """USD per million tokens: input, output, and prompt-cache reads and writes.

    ``cache_read`` / ``cache_write`` are ``None`` where the provider charges
    cached tokens as plain input.
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` at this price, in USD."""
        read = usage.cache_read_tokens
        write = usage.cache_write_tokens
        # Cached tokens are counted in input_tokens; each is priced once.
        plain = usage.input_tokens - read - write
        total = (
            plain * self.input
            + read * (self.input if self.cache_read is None else self.cache_read)
            + write * (self.input if self.cache_write is None else self.cache_write)
            + usage.output_tokens * self.output
        )
        return total / 1_000_000


PRICES: Mapping[str, Price] = {
    # OpenAI
    "gpt-5": Price(1.25, 10.00, cache_read=0.125),
    "gpt-5-mini": Price(0.25, 2.00, cache_read=0.025),
    "gpt-5-nano": Price(0.05, 0.40, cache_read=0.005),
    "gpt-4.1": Price(2.00, 8.00, cache_read=0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, cache_read=0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, cache_read=0.025),
    "gpt-4o": Price(2.50, 10.00, cache_read=1.25),
    "gpt-4o-mini": Price(0.15, 0.60, cache_read=0.075),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00, cache_read=7.50),
    "o1-mini": Price(1.10, 4.40, cache_read=0.55),
    "o3": Price(2.00, 8.00, cache_read=0.50),
    "o3-mini": Price(1.10, 4.40, cache_read=0.55),
    "o4-mini": Price(1.10, 4.40, cache_read=0.275),
    # Anthropic
    "claude-opus-4-5": Price(5.00, 25.00, cache_read=0.50, cache_write=6.25),
    "claude-opus-4-1": Price(15.00, 75.00, cache_read=1.50, cache_write=18.75),
    "claude-opus-4": Price(15.00, 75.00, cache_read=1.50, cache_write=18.75),
    "claude-sonnet-4-5": Price(3.00, 15.00, cache_read=0.30, cache_write=3.75),
    "claude-sonnet-4": Price(3.00, 15.00, cache_read=0.30, cache_write=3.75),
    "claude-haiku-4-5": Price(1.00, 5.00, cache_read=0.10, cache_write=1.25),
    "claude-3-7-sonnet": Price(3.00, 15.00, cache_read=0.30, cache_write=3.75),
    "claude-3-5-sonnet": Price(3.00, 15.00, cache_read=0.30, cache_write=3.75),
    "claude-3-5-haiku": Price(0.80, 4.00, cache_read=0.08, cache_write=1.00),
    "claude-3-opus": Price(15.00, 75.00, cache_read=1.50, cache_write=18.75),
    "claude-3-haiku": Price(0.25, 1.25, cache_read=0.03, cache_write=0.30),
    # Google Gemini
    "gemini-2.5-pro": Price(1.25, 10.00, cache_read=0.31),
    "gemini-2.5-flash": Price(0.30, 2.50, cache_read=0.075),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, cache_read=0.025),
    "gemini-2.0-flash": Price(0.10, 0.40, cache_read=0.025),
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
    "grok-4": Price(3.00, 15.00, cache_read=0.75),
    "grok-3": Price(3.00, 15.00, cache_read=0.75),
    "grok-3-mini": Price(0.30, 0.50, cache_read=0.075),
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
