"""Export targets: how one example is written for each fine-tuning system.

A target renders an example to one JSON object (one JSONL line), and says what its system
requires of the file as a whole.  OpenAI and Azure OpenAI read the same chat JSONL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import Example

OPENAI_WIND_DOWN = (
    "OpenAI is winding down self-serve fine-tuning: since May 2026 organisations that never fine-tuned "
    "cannot create jobs, and new jobs stop in January 2027 (403 training_not_available). "
    "Azure OpenAI, Hugging Face TRL, AutoTrain and Unsloth carry on."
)


@dataclass
class Target:
    name: str
    label: str
    render: Callable[[Example], dict[str, Any]]
    extension: str = "jsonl"
    min_examples: int = 1
    notes: list[str] = field(default_factory=list)
    rules: Callable[[list[Example]], list[str]] = lambda _examples: []


def openai_record(ex: Example) -> dict[str, Any]:
    """The record as the OpenAI / Azure OpenAI chat (or preference) JSONL line."""
    assert ex.record is not None
    return ex.record


def _openai_rules(examples: list[Example]) -> list[str]:
    kinds = {e.kind for e in examples}
    if len(kinds) > 1:
        return ["The file mixes supervised examples and preference pairs; OpenAI needs one kind per file. Export them separately."]
    return []


TARGETS: dict[str, Target] = {
    "openai": Target("openai", "OpenAI", openai_record, min_examples=10, notes=[OPENAI_WIND_DOWN], rules=_openai_rules),
    "azure": Target(
        "azure", "Azure OpenAI", openai_record, min_examples=10,
        notes=["Azure OpenAI reads the same chat JSONL (UTF-8, under 512 MB, at least 10 examples). A model suffix cannot contain '.'."],
        rules=_openai_rules,
    ),
}


def get(name: str) -> Target:
    from .readers import InputError

    if name not in TARGETS:
        raise InputError(f"Unknown export target {name!r}. Targets: {', '.join(TARGETS)}.")
    return TARGETS[name]
