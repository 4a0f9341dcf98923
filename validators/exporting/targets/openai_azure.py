"""OpenAI and Azure OpenAI: the chat JSONL line (or the DPO preference line) as it is.

Azure OpenAI's fine-tuning docs say training and validation files "must be encoded in UTF-8
and include a byte-order mark (BOM)", so the Azure export writes one (Microsoft's own tutorial
uploads files without it, and both are accepted in practice; we follow the docs).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ...catalog import catalog
from ...model import Example
from .base import Target, count_rule, service_limits

_END = date.fromisoformat(catalog()["openai_wind_down"])
OPENAI_WIND_DOWN = (
    "OpenAI is winding down self-serve fine-tuning: since May 2026 organisations that never fine-tuned "
    f"cannot create jobs, and from {_END.day} {_END:%B %Y} no one can start new jobs (403 training_not_available). "
    "The app still exports for it. Azure OpenAI, Together AI, Fireworks AI, Google Vertex AI, Amazon Bedrock, "
    "Hugging Face TRL, AutoTrain and Unsloth carry on."
)
AZURE_NOTE = ("Azure OpenAI reads the same chat JSONL (under 512 MB, at least 10 examples). The file is written as UTF-8 with a "
              "byte-order mark, as Microsoft's fine-tuning docs ask. A model suffix cannot contain '.'.")


def openai_record(ex: Example) -> dict[str, Any]:
    """The record as the OpenAI / Azure OpenAI chat (or preference) JSONL line."""
    assert ex.record is not None
    return ex.record


def openai_rules(examples: list[Example]) -> list[str]:
    """One kind per file: supervised lines and preference lines go to different job methods."""
    kinds = {e.kind for e in examples}
    if len(kinds) > 1:
        return ["The file mixes supervised examples and preference pairs; OpenAI needs one kind per file. Export them separately."]
    return []


def not_utf8(ex: Example) -> bool:
    """A string that cannot be encoded as UTF-8 (a lone surrogate from a broken source)."""
    try:
        str(ex.record).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def azure_rules(examples: list[Example]) -> list[str]:
    """Azure's own demands on top of OpenAI's: text that can be written as UTF-8."""
    out = openai_rules(examples)
    out += count_rule(examples, not_utf8, "text that cannot be written as UTF-8 (lone surrogates); Azure OpenAI needs UTF-8. Retype or remove those characters.")
    return out


def suffix_problems(suffix: str, azure: bool = True) -> list[str]:
    """A fine-tuned model suffix: Azure refuses '.'; both keep it short and plain."""
    out: list[str] = []
    if azure and "." in suffix:
        out.append(f"The model suffix {suffix!r} contains '.', which Azure OpenAI does not allow. Use letters, digits, '-' or '_'.")
    if len(suffix) > 64:
        out.append("The model suffix is longer than 64 characters; shorten it.")
    if any(c.isspace() for c in suffix):
        out.append("The model suffix contains spaces; use '-' or '_' instead.")
    return out


TARGETS = [
    Target("openai", "OpenAI", openai_record, notes=[OPENAI_WIND_DOWN], rules=openai_rules, family="openai", layout="chat", line_is_record="always",
           **service_limits("openai")),
    Target("azure", "Azure OpenAI", openai_record, notes=[AZURE_NOTE], rules=azure_rules, family="azure", layout="chat", bom=True, line_is_record="always",
           **service_limits("azure")),
]
