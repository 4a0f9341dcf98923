"""Export targets: how one example is written for each fine-tuning system.

``TARGETS`` holds every layout of every system, so the pass/fail matrix shows them all;
``FAMILIES`` names the five systems (``--to``) and ``resolve(family, layout)`` picks a layout
(``--layout``).  ``preview(example)`` shows the exact line each target would write.
"""

from __future__ import annotations

from ..errors import InputError
from ..model import Example
from .autotrain import TARGETS as _AUTOTRAIN
from .base import Target
from .openai_azure import OPENAI_WIND_DOWN, openai_record, suffix_problems
from .openai_azure import TARGETS as _OPENAI
from .trl import TARGETS as _TRL
from .unsloth import TARGETS as _UNSLOTH

__all__ = ["FAMILIES", "OPENAI_WIND_DOWN", "TARGETS", "Target", "get", "layouts", "openai_record", "preview", "resolve", "suffix_problems"]

TARGETS: dict[str, Target] = {t.name: t for t in [*_OPENAI, *_TRL, *_AUTOTRAIN, *_UNSLOTH]}
FAMILIES: tuple[str, ...] = ("openai", "azure", "trl", "autotrain", "unsloth")


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
