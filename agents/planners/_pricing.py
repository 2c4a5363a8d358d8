"""Cost estimates for model calls: list prices per model family, in USD per million tokens.

The table holds OpenAI's public list prices (standard tier, mid 2025) for the families a
planner is likely to run. A model name matches the longest family prefix, so dated snapshots
(``gpt-4o-mini-2024-07-18``) and provider prefixes (``openai/gpt-4o``) price like their family.
Unknown models (a local vLLM or Ollama model, a new family) cost 0: an estimate of 0 means
"not priced", not "free". Cached-input discounts and batch prices are ignored, so estimates
err high for long, repeated prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRICES", "Price", "estimate_cost", "price_for"]


@dataclass(frozen=True)
class Price:
    """A model family's list price, in USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


PRICES: dict[str, Price] = {
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
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
}
"""List prices by model family (longest matching prefix wins)."""


def price_for(model: str | None) -> Price | None:
    """Return the price of ``model``'s family, or None when the model is not in the table."""
    if not model:
        return None
    name = model.lower().rsplit("/", 1)[-1]
    for family in sorted(PRICES, key=len, reverse=True):
        if name == family or name.startswith(family + "-"):
            return PRICES[family]
    return None


def estimate_cost(model: str | None, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimate a call's cost in USD; 0.0 for models the table does not price."""
    price = price_for(model)
    if price is None:
        return 0.0
    return (prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok) / 1e6
