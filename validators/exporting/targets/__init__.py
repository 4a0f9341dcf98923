"""Export targets: how one example is written for each fine-tuning system.

``TARGETS`` holds every layout of every system, so the pass/fail matrix shows them all;
``FAMILIES`` names the systems (``--to``) and ``resolve(family, layout)`` picks a layout
(``--layout``).  ``preview(example)`` shows the exact line each target would write.
"""

from __future__ import annotations

from ...errors import InputError
from ...model import Example
from .autotrain import TARGETS as _AUTOTRAIN
from .base import Target
from .bedrock import TARGETS as _BEDROCK
from .fireworks import TARGETS as _FIREWORKS
from .openai_azure import OPENAI_WIND_DOWN, openai_record, suffix_problems
from .openai_azure import TARGETS as _OPENAI
from .together import TARGETS as _TOGETHER
from .trl import TARGETS as _TRL
from .unsloth import TARGETS as _UNSLOTH
from .vertex import TARGETS as _VERTEX

__all__ = ["FAMILIES", "OPENAI_WIND_DOWN", "TARGETS", "Target", "facts", "get", "layouts", "openai_record", "preview", "resolve", "suffix_problems"]

TARGETS: dict[str, Target] = {t.name: t for t in [*_OPENAI, *_TRL, *_AUTOTRAIN, *_UNSLOTH, *_TOGETHER, *_FIREWORKS, *_VERTEX, *_BEDROCK]}
FAMILIES: tuple[str, ...] = ("openai", "azure", "trl", "autotrain", "unsloth", "together", "fireworks", "vertex", "bedrock")


def get(name: str) -> Target:
    """The target called ``name`` (``trl``, ``trl-prompt-completion``, ...), or a plain error."""
    if name not in TARGETS:
        raise InputError(f"Unknown export target {name!r}. Targets: {', '.join(TARGETS)}.")
    return TARGETS[name]


def layouts(family: str) -> list[str]:
    """The layouts one system offers, its default first."""
    return [t.layout for t in TARGETS.values() if t.family == family]


def resolve(family: str, layout: str | None = None) -> Target:
    """``--to trl --layout prompt-completion`` → the ``trl-prompt-completion`` target."""
    if family not in FAMILIES and family in TARGETS:
        return TARGETS[family]
    if family not in FAMILIES:
        raise InputError(f"Unknown export target {family!r}. Targets: {', '.join(FAMILIES)}.")
    found = [t for t in TARGETS.values() if t.family == family and (layout is None or t.layout == layout)]
    if not found:
        raise InputError(f"{family} has no layout {layout!r}. Layouts: {', '.join(layouts(family))}.")
    return found[0]


def preview(example: Example, names: list[str] | None = None) -> dict[str, str]:
    """The exact JSONL line each target would write for ``example`` (or why it cannot)."""
    from ..export import dumps_line

    out: dict[str, str] = {}
    for name in names or list(TARGETS):
        tgt = TARGETS[name]
        if example.record is None:
            out[name] = f"(not exported: {example.problem or 'the example could not be read'})"
            continue
        problems = tgt.rules([example])
        if problems:
            out[name] = "(not exported: " + " ".join(p.split(": ", 1)[-1] for p in problems) + ")"
            continue
        out[name] = dumps_line(tgt.render(example))
    return out


def facts(name: str) -> dict[str, str]:
    """The target's limits and training price in words, from the catalogue (for the matrix and the page)."""
    from ...catalog import price_text, services, token_note

    tgt = get(name)
    table = services()
    info = table.get(tgt.name) or table.get(tgt.family)
    if info is None:  # TRL, AutoTrain, Unsloth: the user's own hardware
        return {"limits": "no service limits: your own GPU's memory and the max sequence length you set",
                "price": "no service price: runs on your own hardware", "tokens": ""}
    parts = [f"{tgt.min_examples:,}" + (f" to {tgt.max_examples:,}" if tgt.max_examples else "+") + " examples"]
    if tgt.max_validation_examples:
        parts.append(f"validation up to {tgt.max_validation_examples:,} examples")
    if tgt.max_file_bytes:
        parts.append(f"file up to {size_text(tgt.max_file_bytes)}")
    parts.append(f"context {info.context_tokens:,} tokens per example" if info.context_tokens else f"context {info.context_note}")
    return {"limits": "; ".join(parts), "price": price_text(info), "tokens": token_note(info)}


def size_text(n: int) -> str:
    """``512 MB`` (512 MiB, as OpenAI counts), ``50.1 GB`` (Together's 50.1 GiB), ``1 GB`` (10^9 bytes)."""
    if n < 2**30 and n % 2**20 == 0:
        return f"{n // 2**20} MB"
    gib = n / 2**30
    if abs(gib - round(gib, 1)) < 1e-6:
        return f"{round(gib, 1):g} GB"
    return f"{n / 1e9:g} GB" if n >= 1e9 else f"{n / 1e6:g} MB"
