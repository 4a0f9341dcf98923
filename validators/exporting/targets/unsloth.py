"""Unsloth: ShareGPT as its notebooks load it, or plain ``messages`` (Unsloth trains with TRL).

ShareGPT line: ``{"conversations": [{"from": "system"|"human"|"gpt", "value": "..."}]}``.
Unsloth's ``standardize_sharegpt`` demands exactly two string keys per message, so nothing
else (no tool calls, no names) may appear; ``get_chat_template(tokenizer, mapping={"role":
"from", "content": "value", "user": "human", "assistant": "gpt"})`` reads it as is.
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf, trl
from .base import Target, count_rule

SHAREGPT_ROLE = {"system": "system", "user": "human", "assistant": "gpt"}
MAPPING = {"role": "from", "content": "value", "user": "human", "assistant": "gpt"}


def sharegpt_record(ex: Example) -> dict[str, Any]:
    """ShareGPT turns; what ShareGPT cannot hold is refused by the rules, not silently dropped here."""
    if ex.kind == "dpo":
        return trl.messages_record(ex)
    return {"conversations": [{"from": SHAREGPT_ROLE.get(m["role"], m["role"]), "value": m.get("content", "")} for m in hf.sft_messages(ex)]}


def _other_roles(ex: Example) -> bool:
    return any(isinstance(m, dict) and m.get("role") not in SHAREGPT_ROLE for m in ex.messages)


def sharegpt_rules(examples: list[Example]) -> list[str]:
    out = count_rule(examples, lambda e: e.kind == "dpo", "preference pairs: Unsloth's DPO runs TRL's DPOTrainer, so export them with the `unsloth-messages` (or `trl`) layout.")
    out += count_rule(examples, lambda e: e.kind == "sft" and (hf.has_tools(e) or _other_roles(e)),
                      "tool calls or tool/function messages, which ShareGPT (system/human/gpt) cannot hold. Use the `unsloth-messages` layout.")
    return out + hf.text_template_rules(examples, "Unsloth")


TARGETS = [
    Target("unsloth", "Unsloth (ShareGPT)", sharegpt_record,
           notes=["Load, then standardize_sharegpt(dataset) or get_chat_template(tokenizer, mapping=" + repr(MAPPING) + ")."],
           rules=sharegpt_rules, family="unsloth", layout="sharegpt"),
    Target("unsloth-messages", "Unsloth (messages)", trl.messages_record, notes=["The same layout as TRL's: Unsloth trains with TRL's SFTTrainer."],
           rules=trl.trl_rules, family="unsloth", layout="messages", line_is_record="plain"),
]
