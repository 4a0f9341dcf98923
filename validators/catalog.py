"""Models, their encodings, token limits and prices; each hosted service's limits and price;
the OpenAI wind-down date that decides the default target.  One data file, with sources and dates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from .reading.readers import InputError


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


# --- hosted services: price, limits, the OpenAI wind-down -----------------------------------

@dataclass(frozen=True)
class ServiceInfo:
    """One fine-tuning service's published limits and price (``None`` = no figure copied; the note says why)."""

    family: str
    label: str
    price_per_1m: float | None  # USD per 1M training tokens, or None where no figure could be read from the service
    price_note: str
    price_source: str  # URL the price (or its absence) was read from
    price_as_of: str  # ISO date
    min_examples: int
    max_examples: int | None
    max_validation_examples: int | None
    max_file_bytes: int | None
    context_tokens: int | None
    context_note: str
    storage_usd_per_month: float | None = None  # keeping each custom model, where the service charges for it


def services() -> dict[str, ServiceInfo]:
    return {fam: ServiceInfo(family=fam, **info) for fam, info in catalog()["services"].items()}


def service(family: str) -> ServiceInfo:
    """The service entry for a target family (``together``, ``bedrock``, ...)."""
    table = services()
    if family not in table:
        raise InputError(f"No catalogue entry for {family!r}. Services: {', '.join(table)}.")
    return table[family]


def price_text(info: ServiceInfo) -> str:
    """``$0.50 per 1M training tokens: ... (source, as of date)``; without a figure, ``price not in the
    catalogue`` (published but not read), ``priced per model`` (OpenAI, Azure) or ``no public price``."""
    if info.price_per_1m is not None:
        head = f"${info.price_per_1m:.2f} per 1M training tokens"
        if info.storage_usd_per_month is not None:
            head += f" + ${info.storage_usd_per_month:.2f} a month to store each custom model"
    else:
        head = ("priced per model" if info.family in ("openai", "azure") else
                "price not in the catalogue" if info.price_note.startswith("published") else "no public price")
    return f"{head}: {info.price_note} (source: {info.price_source}, as of {info.price_as_of})"


# Services that count tokens with OpenAI's tokenizers; every other service has its own.
OPENAI_TOKENIZER = ("openai", "azure")


def token_note(info: ServiceInfo) -> str:
    """Why our counts are only estimates for a service with its own tokenizer ("" for OpenAI, Azure).

    The app counts with OpenAI's tokenizers (tiktoken), so a per-example limit such as Vertex
    AI's 131,072 tokens is shown but cannot be checked exactly, and prices per token are estimates."""
    if info.family in OPENAI_TOKENIZER:
        return ""
    note = (f"Token counts here come from OpenAI's tokenizer; {info.label} counts with its own, "
            "so for it these counts and costs are estimates, not exact.")
    if info.context_tokens:
        note += f" Its limit of {info.context_tokens:,} tokens per example is shown, not checked."
    return note


def service_rows(charged_tokens: int | None = None) -> list[dict[str, Any]]:
    """Each hosted service's training price with its source and date, for the Cost page and the CLI.

    ``charged_tokens`` (training tokens x epochs, counted with OpenAI's tokenizer) gives a rough
    cost where the catalogue has a price; the service's own count decides the bill."""
    rows = []
    for info in services().values():
        if info.family == "openai":  # the models table prices OpenAI per model
            continue
        rate = info.price_per_1m
        rows.append({
            "service": info.label,
            "USD per 1M training tokens": rate,
            "estimate USD": round(charged_tokens / 1e6 * rate, 4) if rate is not None and charged_tokens is not None else None,
            "storage USD per month": info.storage_usd_per_month,
            "price": price_text(info).split(": ", 1)[0],
            "source": info.price_source,
            "as of": info.price_as_of,
            "token counts": "estimate (OpenAI's tokenizer)" if token_note(info) else "OpenAI's tokenizer",
            "what it covers": info.price_note,
        })
    return rows


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
