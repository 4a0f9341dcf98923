"""Hugging Face AutoTrain Advanced, LLM trainer (``autotrain llm`` / ``task: llm-sft``).

AutoTrain loads ``train.jsonl`` (or ``train.csv``) from a data folder with
``datasets.load_dataset(data_path, split=train_split)``.  With ``chat_template`` set to
``chatml``, ``zephyr`` or ``tokenizer`` it applies the template to the list of messages in
``text_column`` (SFT), or to ``chosen`` / ``rejected`` full conversations (DPO/ORPO); it passes
no ``tools``.  Without a chat template it trains on a single ``text`` column as it is.

We write JSONL, not CSV: a CSV cell would hold the messages as a Python-literal string, and
neutralising spreadsheet formulas (csv_safe) would change the training text itself.
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf
from .base import Target, count_rule

NOTES = [
    "Put the file in a folder as train.jsonl (validation as valid.jsonl): AutoTrain reads --data-path FOLDER --train-split train.",
    "JSONL rather than CSV: formula-neutralising a CSV would alter the training text.",
]


def chatml(msgs: list[dict[str, Any]]) -> str:
    """The conversation as ChatML text: what AutoTrain's ``chatml`` template produces."""
    return "".join(f"<|im_start|>{m['role']}\n{m.get('content', '')}<|im_end|>\n" for m in msgs)


def _plain(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only ``role`` and ``content``: all AutoTrain's templates read, and one Arrow struct on every
    row even with the datasets 3.2 AutoTrain pins (older datasets fill keys missing in a row with null)."""
    return [{"role": m["role"], "content": m.get("content", "")} for m in msgs]


def messages_record(ex: Example) -> dict[str, Any]:
    """SFT: ``{"messages": [...]}``; DPO: full ``chosen`` / ``rejected`` conversations plus ``prompt``."""
    if ex.kind == "dpo":
        prompt, chosen, rejected, _tools = hf.dpo_parts(ex)
        prompt, chosen, rejected = _plain(prompt), _plain(chosen), _plain(rejected)
        return {"prompt": prompt, "chosen": prompt + chosen, "rejected": prompt + rejected}
    return {"messages": _plain(hf.sft_messages(ex))}


def text_record(ex: Example) -> dict[str, Any]:
    """One ``text`` column: the conversation already rendered in ChatML."""
    if ex.kind == "dpo":  # refused by the rules; never crash the export
        return messages_record(ex)
    return {"text": chatml(hf.sft_messages(ex))}


def _rules(examples: list[Example], allow_dpo: bool) -> list[str]:
    out: list[str] = []
    if len({e.kind for e in examples}) > 1:
        out.append("The file mixes supervised examples and preference pairs; AutoTrain's sft and dpo trainers each read one kind. Export them separately.")
    if not allow_dpo:
        out += count_rule(examples, lambda e: e.kind == "dpo", "preference pairs need the `autotrain` messages layout (trainer dpo).")
    out += count_rule(examples, hf.has_tools,
                      "tool definitions or tool calls; AutoTrain applies the chat template without tools. Export for TRL (or Unsloth messages) instead.")
    return out + hf.text_template_rules(examples, "AutoTrain")


TARGETS = [
    Target("autotrain", "AutoTrain Advanced (chat column)", messages_record, notes=NOTES,
           rules=lambda ex: _rules(ex, allow_dpo=True), family="autotrain", layout="messages", line_is_record="plain"),
    Target("autotrain-text", "AutoTrain Advanced (text column, ChatML)", text_record,
           notes=[*NOTES, "The text is ChatML; use a base model whose tokenizer knows <|im_start|> / <|im_end|>, or --chat-template chatml with the messages layout."],
           rules=lambda ex: _rules(ex, allow_dpo=False), family="autotrain", layout="text"),
]
