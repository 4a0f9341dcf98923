"""Training cost: epochs × billed tokens × price (the Cookbook's heuristic for "auto" epochs)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def auto_epochs(n_examples: int) -> int:
    """The epochs OpenAI picks for ``n_epochs="auto"``."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    epochs = TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    elif n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return epochs


@dataclass
class Estimate:
    examples: int
    epochs: int
    epochs_auto: bool
    billing_tokens: int  # Σ min(limit, tokens)
    charged_tokens: int  # epochs × billing_tokens
    price_per_million: float
    cost_usd: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def arithmetic(self) -> str:
        return (
            f"{self.epochs} epoch(s) × {self.billing_tokens:,} billed tokens = {self.charged_tokens:,} tokens; "
            f"{self.charged_tokens:,} / 1,000,000 × ${self.price_per_million:.2f} = ${self.cost_usd:,.2f}"
        )


def estimate(per_example: np.ndarray, limit: int, price_per_million: float, epochs: int | None = None) -> Estimate:
    """Cost of training on examples with these token counts."""
    return estimate_from(int(per_example.size), int(np.minimum(per_example, limit).sum()), price_per_million, epochs)


def estimate_from(n: int, billing: int, price_per_million: float, epochs: int | None = None) -> Estimate:
    """:func:`estimate` from its two sums (``n`` examples, ``billing``: their tokens, each
    capped at the limit), for a streamed file whose counts are not all in memory."""
    if epochs is not None and not 1 <= epochs <= 50:
        raise ValueError("epochs must be between 1 and 50")
    chosen = epochs if epochs is not None else auto_epochs(n)
    charged = chosen * billing
    return Estimate(n, chosen, epochs is None, billing, charged, price_per_million, round(charged / 1e6 * price_per_million, 6))


def base_prices(input_price: float, output_price: float, base_input: float | None, base_output: float | None) -> tuple[float, float]:
    """USD per 1M input / output tokens of the base model (not fine-tuned) the few-shot prompt
    would run on: the catalogue's base prices, else the fine-tuned ones (an upper bound)."""
    return (base_input if base_input is not None else input_price, base_output if base_output is not None else output_price)


def breakeven(
    few_shot_prompt_tokens: int, fine_tuned_prompt_tokens: int, output_tokens: int,
    base_input_price: float, base_output_price: float, ft_input_price: float, ft_output_price: float,
    training_cost: float,
) -> dict[str, float | None]:
    """Per-request cost of a few-shot prompt on the base model vs. the fine-tuned model's
    shorter prompt, and how many requests it takes for training to pay for itself."""
    base = (few_shot_prompt_tokens * base_input_price + output_tokens * base_output_price) / 1e6
    tuned = (fine_tuned_prompt_tokens * ft_input_price + output_tokens * ft_output_price) / 1e6
    saving = base - tuned
    return {
        "few_shot_per_request": base,
        "fine_tuned_per_request": tuned,
        "saving_per_request": saving,
        "breakeven_requests": (training_cost / saving) if saving > 0 else None,
    }
