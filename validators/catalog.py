"""Models, their encodings, token limits and prices: one data file with a source and a date."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .readers import InputError


@dataclass(frozen=True)
class ModelInfo:
    name: str
    encoding: str
    limit: int
    training: float  # USD per 1M training tokens
    input: float  # USD per 1M input tokens, fine-tuned model
    output: float  # USD per 1M output tokens, fine-tuned model
    base_input: float | None = None  # USD per 1M input tokens, the same model not fine-tuned
    base_output: float | None = None  # USD per 1M output tokens, the same model not fine-tuned


@cache
def catalog() -> dict[str, Any]:
    return json.loads(resources.files("validators").joinpath("data", "models.json").read_text("utf-8"))


def models() -> dict[str, ModelInfo]:
    return {name: ModelInfo(name=name, **info) for name, info in catalog()["models"].items()}


def default_model() -> str:
    return catalog()["default_model"]


def model(name: str | None) -> ModelInfo:
    """Look a model up by exact name or unique prefix ("gpt-4o-mini" → the dated snapshot)."""
    name = name or default_model()
    table = models()
    if name in table:
        return table[name]
    matches = [m for m in table if m.startswith(name)]
    if len(matches) == 1:
        return table[matches[0]]
    raise InputError(f"Unknown model {name!r}. Known models: {', '.join(table)}.")
