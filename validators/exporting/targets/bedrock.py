"""Amazon Bedrock: ``bedrock-conversation-2024`` for Nova, and prompt/completion lines.

Nova (AWS's "Preparing data for fine-tuning Nova" page, and AWS's own sample validator
``nova_ft_dataset_validator.py`` in aws-samples/amazon-bedrock-samples):
``{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": ...}], "messages": [{"role":
"user", "content": [{"text": ...}]}, {"role": "assistant", "content": [{"text": ...}]}]}``; the
messages start with the user, alternate, and end with the assistant; no text may contain the
strings Nova reserves (``User:``, ``Assistant:``, ``[EOS]``, ``<image>``, ...); 8 to 20,000 records.

Titan, Cohere and Llama 3.1 customization take ``{"prompt": ..., "completion": ...}``: one
question and one answer, no system message (an example with one is refused, never trimmed).
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf
from .base import Target, count_rule, service_limits

SCHEMA_VERSION = "bedrock-conversation-2024"
# The strings AWS's sample validator refuses anywhere in Nova text (INVALID_TOKENS_TEXT).
RESERVED = ("System:", "SYSTEM:", "User:", "USER:", "Bot:", "BOT:", "Assistant:", "ASSISTANT:", "Thought:", "[EOS]", "<image>", "<video>")
NOVA_NOTES = [
    "Copy the file to S3 and start a model customization job (the next step below shows how).",
    "Nova takes 8 to 20,000 records (Nova 2.0 Lite SFT: 200 to 20,000); it has no per-message weight, so weight-0 replies are trained on.",
]
PC_NOTES = [
    "For Bedrock models that take prompt/completion lines (Titan Text, Cohere Command, Llama 3.1); limits differ per model "
    "(e.g. 4,096 input + output tokens at batch size 1); training file at most 1 GB, validation at most 100 MB.",
]


def _text(m: dict[str, Any]) -> str:
    return hf.text_of(m.get("content")) or ""


def _msgs(ex: Example) -> list[dict[str, Any]]:
    return [m for m in ex.messages if isinstance(m, dict)]


def _split(ex: Example) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    msgs = _msgs(ex)
    lead = 1 if msgs and msgs[0].get("role") == "system" else 0
    return msgs[:lead], msgs[lead:]


def nova_record(ex: Example) -> dict[str, Any]:
    """The ``bedrock-conversation-2024`` line: system text apart, messages as text blocks."""
    system, turns = _split(ex)
    out: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
    if system:
        out["system"] = [{"text": _text(system[0])}]
    out["messages"] = [{"role": m.get("role"), "content": [{"text": _text(m)}]} for m in turns]
    return out


def prompt_completion_record(ex: Example) -> dict[str, Any]:
    """``{"prompt": question, "completion": answer}`` for a one-question, one-answer example."""
    msgs = _msgs(ex)
    if len(msgs) == 2:
        return {"prompt": _text(msgs[0]), "completion": _text(msgs[1])}
    return nova_record(ex)  # refused by the rules; rendered anyway so the export never crashes


def reserved_in(text: str) -> list[str]:
    return [r for r in RESERVED if r in text]


def _has_reserved(ex: Example) -> bool:
    return any(reserved_in(_text(m)) for m in _msgs(ex))


def _not_alternating(ex: Example) -> bool:
    _, turns = _split(ex)
    roles = [m.get("role") for m in turns]
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(roles))]
    return len(roles) < 2 or roles != expected


def _empty(ex: Example) -> bool:
    return any(not _text(m) for m in _msgs(ex))


def _shared(examples: list[Example], label: str) -> list[str]:
    out = count_rule(examples, lambda e: e.kind == "dpo", f"preference pairs; {label} fine-tuning here takes supervised examples. Export them elsewhere.")
    out += count_rule(examples, lambda e: hf.has_tools(e) or hf.has_legacy_functions(e), f"tool calls; this {label} export is text only. Remove the tool turns.")
    out += count_rule(examples, hf.has_images, f"image parts; {label} reads images from S3, which this export does not write. Remove the images.")
    out += count_rule(_plain(examples), _empty, f"an empty message; {label} refuses empty text. Fill it in or remove the message.")
    return out


def _plain(examples: list[Example]) -> list[Example]:
    """The examples not already refused for tools or preference pairs (one reason each is enough)."""
    return [e for e in examples if not (hf.has_tools(e) or hf.has_legacy_functions(e) or e.kind == "dpo")]


def nova_rules(examples: list[Example]) -> list[str]:
    out = _shared(examples, "Bedrock Nova")
    out += count_rule(_plain(examples), _not_alternating, "the messages must start with the user, alternate user / assistant and end with the assistant "
                      "(a system message only first). Merge repeated turns or add the missing one.")
    out += count_rule(_plain(examples), _has_reserved, f"text containing a string Nova reserves ({', '.join(RESERVED)}); Bedrock rejects the file. "
                      "Reword it (e.g. 'Customer -' instead of 'User:').")
    return out


def prompt_completion_rules(examples: list[Example]) -> list[str]:
    out = _shared(examples, "Bedrock")
    out += count_rule(_plain(examples), lambda e: [m.get("role") for m in _msgs(e)] != ["user", "assistant"],
                      "not one user message followed by one reply (a system message or several turns); prompt/completion has no place for them. "
                      "Use the Nova conversation layout.")
    return out


TARGETS = [
    Target("bedrock", "Amazon Bedrock (Nova conversation)", nova_record, notes=NOVA_NOTES, rules=nova_rules,
           family="bedrock", layout="nova", **service_limits("bedrock")),
    Target("bedrock-prompt-completion", "Amazon Bedrock (prompt-completion)", prompt_completion_record, notes=PC_NOTES,
           rules=prompt_completion_rules, family="bedrock", layout="prompt-completion", **service_limits("bedrock-prompt-completion")),
]
