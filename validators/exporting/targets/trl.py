"""Hugging Face TRL: conversational datasets as TRL's "Dataset formats" page documents them.

* ``trl`` — language modelling ``{"messages": [...], "tools": "<json>"}``; preference pairs as
  ``{"prompt": [...], "chosen": [...], "rejected": [...]}`` (DPOTrainer's explicit-prompt form).
* ``trl-prompt-completion`` — ``{"prompt": [...], "completion": [last assistant message]}``;
  SFTTrainer then trains on the completion only (``completion_only_loss`` defaults to on).
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf
from .base import Target, count_rule

NOTES = [
    "Load with datasets.load_dataset('json', data_files=...) and pass to trl.SFTTrainer; the model's chat template is applied by the trainer.",
    "Tool definitions are kept as a JSON string in `tools` (TRL parses it); tool-call arguments are JSON objects, as chat templates expect.",
    "Hugging Face trainers have no per-message weight: assistant messages marked weight 0 are trained on like the others.",
    "Use datasets 4.7 or newer: older versions merge every row's keys into one Arrow struct and fill the missing ones with null "
    "(tool-call arguments of one tool would gain the other tools' keys).",
]


def messages_record(ex: Example) -> dict[str, Any]:
    """SFT: ``messages`` (+ ``tools``); DPO: ``prompt`` / ``chosen`` / ``rejected`` (+ ``tools``)."""
    if ex.kind == "dpo":
        prompt, chosen, rejected, tools = hf.dpo_parts(ex)
        out: dict[str, Any] = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    else:
        assert ex.record is not None
        out = {"messages": hf.sft_messages(ex)}
        tools = ex.record.get("tools")
    if tools:
        out["tools"] = hf.tools_json(tools)
    return out


def prompt_completion_record(ex: Example) -> dict[str, Any]:
    """Everything before the last assistant message is the prompt; that message is the completion."""
    if ex.kind == "dpo":  # refused by the rules; rendered as TRL's preference form so export never crashes
        return messages_record(ex)
    assert ex.record is not None
    msgs = hf.sft_messages(ex)
    last = max((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=len(msgs) - 1)
    out: dict[str, Any] = {"prompt": msgs[:last], "completion": msgs[last:last + 1]}
    if ex.record.get("tools"):
        out["tools"] = hf.tools_json(ex.record["tools"])
    return out


def one_kind(examples: list[Example]) -> list[str]:
    if len({e.kind for e in examples}) > 1:
        return ["The file mixes supervised examples and preference pairs; SFTTrainer and DPOTrainer each read one kind. Export them separately."]
    return []


def trl_rules(examples: list[Example]) -> list[str]:
    return one_kind(examples) + hf.text_template_rules(examples, "TRL")


def _ends_without_reply(ex: Example) -> bool:
    msgs = ex.messages
    return not msgs or not isinstance(msgs[-1], dict) or msgs[-1].get("role") != "assistant"


def prompt_completion_rules(examples: list[Example]) -> list[str]:
    out = count_rule(examples, lambda e: e.kind == "dpo", "preference pairs have no prompt–completion SFT form; export them with the `trl` layout (DPOTrainer).")
    out += count_rule(examples, _ends_without_reply, "the conversation does not end with an assistant message, so there is no completion. End it with the reply, or use the `trl` messages layout.")
    return out + hf.text_template_rules(examples, "TRL")


TARGETS = [
    Target("trl", "Hugging Face TRL (messages)", messages_record, notes=NOTES, rules=trl_rules, family="trl", layout="messages",
           line_is_record="plain"),
    Target("trl-prompt-completion", "Hugging Face TRL (prompt–completion)", prompt_completion_record,
           notes=[*NOTES, "Only the last assistant message is trained on; earlier turns are context."], rules=prompt_completion_rules,
           family="trl", layout="prompt-completion"),
]
