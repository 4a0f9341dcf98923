"""Models, their encodings, token limits and prices; each hosted service's limits and price;
the OpenAI wind-down date that decides the default target.  One data file, with sources and dates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
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


# --- hosted services: price, limits, the OpenAI wind-down -----------------------------------

@dataclass(frozen=True)
class ServiceInfo:
    """One fine-tuning service's published limits and price (``None`` = no public price)."""

    family: str
    label: str
    price_per_1m: float | None  # USD per 1M training tokens, or None where no public price exists
    price_note: str
    price_source: str  # URL the price (or its absence) was read from
    price_as_of: str  # ISO date
    min_examples: int
    max_examples: int | None
    max_validation_examples: int | None
    max_file_bytes: int | None
    context_tokens: int | None
    context_note: str


def services() -> dict[str, ServiceInfo]:
    return {fam: ServiceInfo(family=fam, **info) for fam, info in catalog()["services"].items()}


def service(family: str) -> ServiceInfo:
    """The service entry for a target family (``together``, ``bedrock``, ...)."""
    table = services()
    if family not in table:
        raise InputError(f"No catalogue entry for {family!r}. Services: {', '.join(table)}.")
    return table[family]


def price_text(info: ServiceInfo) -> str:
    """``$0.50 per 1M training tokens (source, as of date)`` or ``no public price (...)``."""
    if info.price_per_1m is not None:
        head = f"${info.price_per_1m:.2f} per 1M training tokens"
    else:
        head = ("priced per model" if info.family in ("openai", "azure") else
                "price not in the catalogue" if info.price_note.startswith("published") else "no public price")
    return f"{head}: {info.price_note} (source: {info.price_source}, as of {info.price_as_of})"


def openai_wind_down() -> date:
    """The day OpenAI stops new self-serve fine-tuning jobs for everyone (kept in the catalogue)."""
    return date.fromisoformat(catalog()["openai_wind_down"])


def openai_wound_down(today: date | None = None) -> bool:
    """True on and after the wind-down date; ``today`` is injectable so tests need no clock."""
    return (today or date.today()) >= openai_wind_down()


def default_target(today: date | None = None) -> str:
    """OpenAI before its wind-down date, another service from that day on (the catalogue says which)."""
    choice = catalog()["default_target"]
    return choice["after_wind_down" if openai_wound_down(today) else "before_wind_down"]
