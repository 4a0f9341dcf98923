"""Fireworks AI: OpenAI-style chat JSONL for supervised fine-tuning, and its DPO layout.

From Fireworks' fine-tuning docs: one ``{"messages": [...]}`` object per line (optional
``tools``), roles system / user / assistant (and tool), a system message only first, per-message
``weight`` 0 or 1, 3 to 3,000,000 examples; DPO lines are ``input{messages, tools}`` +
``preferred_output`` + ``non_preferred_output`` with one assistant message each.
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf
from .base import Target, count_rule, service_limits

ROLES = ("system", "user", "assistant", "tool")
_MSG_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name", "weight", "reasoning_content")
NOTES = [
    "Upload the file as a Fireworks dataset (the next step below shows how); files over 150 MB are uploaded through a signed link.",
    "The context length is set per base model; Fireworks bills dataset tokens x epochs.",
]


def _message(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in _MSG_KEYS if k in m and m[k] is not None}


def record(ex: Example) -> dict[str, Any]:
    """The chat line (``messages`` + ``tools``), or the DPO line for a preference pair."""
    assert ex.record is not None
    if ex.kind == "dpo":
        inp = ex.record.get("input") or {}
        out_inp: dict[str, Any] = {"messages": [_message(m) for m in inp.get("messages") or [] if isinstance(m, dict)]}
        if inp.get("tools"):
            out_inp["tools"] = inp["tools"]
        return {"input": out_inp,
                "preferred_output": [_message(m) for m in ex.record.get("preferred_output") or [] if isinstance(m, dict)],
                "non_preferred_output": [_message(m) for m in ex.record.get("non_preferred_output") or [] if isinstance(m, dict)]}
    out: dict[str, Any] = {"messages": [_message(m) for m in ex.record.get("messages") or [] if isinstance(m, dict)]}
    if ex.record.get("tools"):
        out["tools"] = ex.record["tools"]
    return out


def _msgs(ex: Example) -> list[dict[str, Any]]:
    return [m for m in ex.messages if isinstance(m, dict)]


def _late_system(ex: Example) -> bool:
    return any(m.get("role") == "system" for m in _msgs(ex)[1:])


def _one_turn_pair(ex: Example) -> bool:
    rec = ex.record or {}
    return all(isinstance(rec.get(k), list) and len(rec[k]) == 1 for k in ("preferred_output", "non_preferred_output"))


def rules(examples: list[Example]) -> list[str]:
    out: list[str] = []
    if len({e.kind for e in examples}) > 1:
        out.append("The file mixes supervised examples and preference pairs; Fireworks runs SFT and DPO as separate jobs. Export them separately.")
    out += count_rule(examples, lambda e: any(m.get("role") not in ROLES for m in _msgs(e)),
                      f"a role other than {', '.join(ROLES)}; Fireworks refuses it. Rename the role (legacy `function` messages: convert to tool calls).")
    out += count_rule(examples, _late_system, "a system message after the first message; Fireworks takes it only first. Move or merge it.")
    out += count_rule(examples, lambda e: e.kind == "sft" and not any(m.get("role") == "assistant" for m in _msgs(e)),
                      "no assistant message, so nothing to train on. Add the reply.")
    out += count_rule(examples, lambda e: any("weight" in m and m["weight"] not in (0, 1) for m in _msgs(e)),
                      "a `weight` other than 0 or 1. Set it to 0 or 1.")
    out += count_rule(examples, lambda e: e.kind == "dpo" and not _one_turn_pair(e),
                      "a preference pair whose replies are not one message each; Fireworks DPO takes one turn. Keep one assistant message per side.")
    out += count_rule(examples, hf.has_legacy_functions, "legacy `functions` / `function_call`; Fireworks reads `tools` / `tool_calls`. Convert them to tool calls first.")
    return out


TARGETS = [
    Target("fireworks", "Fireworks AI", record, notes=NOTES, rules=rules, family="fireworks", layout="chat", **service_limits("fireworks")),
]
