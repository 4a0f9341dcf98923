"""The :class:`Target` record and helpers every target shares.

A target renders one example to one JSON object (one JSONL line), and says what its system
requires of the file as a whole (``rules``: each problem is a sentence saying what is wrong
and what the user needs to do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...model import Example

Rules = Callable[[list[Example]], list[str]]


def _no_rules(_examples: list[Example]) -> list[str]:
    return []


@dataclass
class Target:
    """One export layout of one fine-tuning system (``family``), e.g. TRL prompt–completion."""

    name: str
    label: str
    render: Callable[[Example], dict[str, Any]]
    extension: str = "jsonl"
    min_examples: int = 1
    notes: list[str] = field(default_factory=list)
    rules: Rules = _no_rules
    family: str = ""  # openai, azure, trl, autotrain, unsloth, together, fireworks, vertex, bedrock
    layout: str = "default"
    max_examples: int | None = None  # the service refuses more training examples than this
    max_file_bytes: int | None = None  # the service's file-size limit (None: the app's own 512 MB reading limit)
    bom: bool = False  # write a UTF-8 byte-order mark first (Azure OpenAI's docs ask for one)
    max_validation_examples: int | None = None  # e.g. Vertex AI's 5,000


def service_limits(key: str) -> dict[str, Any]:
    """``min_examples`` / ``max_examples`` / ``max_file_bytes`` / ``max_validation_examples`` of a service, from the catalogue,
    so the limits live in one editable file with their source."""
    from ...catalog import service

    info = service(key)
    return {"min_examples": info.min_examples, "max_examples": info.max_examples, "max_file_bytes": info.max_file_bytes,
            "max_validation_examples": info.max_validation_examples}


def some(indices: list[int], limit: int = 5) -> str:
    """``"3 examples (3, 7, 9)"`` or ``"9 examples (1, 2, 4, 6, 8 and 4 more)"``: enough to find them."""
    head = ", ".join(str(i) for i in indices[:limit])
    more = f" and {len(indices) - limit} more" if len(indices) > limit else ""
    return f"{len(indices)} example{'s' if len(indices) > 1 else ''} ({head}{more})"


def count_rule(examples: list[Example], test: Callable[[Example], bool], text: str) -> list[str]:
    """One problem sentence naming the examples for which ``test`` holds, or nothing."""
    hits = [e.index for e in examples if test(e)]
    return [f"{some(hits)}: {text}"] if hits else []

