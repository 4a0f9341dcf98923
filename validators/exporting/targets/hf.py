"""OpenAI chat records turned into what Hugging Face chat templates read.

Differences from the OpenAI line, and why:

* ``tool_calls[].function.arguments`` becomes a JSON object: transformers' chat templates
  (and TRL's training templates) render it with ``| tojson`` and some refuse a string.
* ``tools`` becomes a JSON *string*: TRL's SFTTrainer parses a string ``tools`` column
  (``json.loads``), and a string keeps Arrow's column type the same on every row, whatever
  each tool's parameter schema looks like.
* text ``content`` parts are joined into one string (text-only templates expect a string);
  a tool-calling assistant message with no text has no ``content`` key, as in the
  transformers tool-use docs.
* ``weight`` is dropped: no Hugging Face trainer has per-message weights.
"""

from __future__ import annotations

import json
from typing import Any

from ...model import Example
from .base import count_rule, false_when_plain

_KEEP = ("role", "content", "name", "tool_calls", "tool_call_id")


def text_of(content: Any) -> str | None:
    """A string, or the text parts of a content list joined by newlines."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content)


def arguments(value: Any) -> Any:
    """Tool-call arguments as a JSON object when they parse as one; otherwise unchanged."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def tool_call(call: dict[str, Any]) -> dict[str, Any]:
    fn = dict(call.get("function") or {})
    fn["arguments"] = arguments(fn.get("arguments"))
    out = {k: v for k, v in call.items() if k != "function"}
    out["function"] = fn
    return out


_PLAIN = frozenset(("role", "content"))


def message(msg: dict[str, Any]) -> dict[str, Any]:
    """One message in Hugging Face chat-template form."""
    if type(msg) is dict and type(msg.get("content")) is str and msg.keys() <= _PLAIN and "role" in msg:
        # The usual message (a role and a text): the same dict as below, a fifth of the time
        # (every example's every message is made anew for each export of 380,000 examples).
        return {"role": msg["role"], "content": msg["content"]}
    out: dict[str, Any] = {}
    for key in _KEEP:
        if key not in msg:
            continue
        if key == "content":
            text = text_of(msg["content"])
            if text is not None:
                out["content"] = text
        elif key == "tool_calls":
            out["tool_calls"] = [tool_call(c) for c in msg["tool_calls"] or []]
        else:
            out[key] = msg[key]
    if "content" not in out and "tool_calls" not in out:
        out["content"] = ""
    return out


def messages(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message(m) for m in msgs]


def tools_json(tools: Any) -> str | None:
    """The ``tools`` list as one JSON string (TRL reads it back with ``json.loads``)."""
    return json.dumps(tools, ensure_ascii=False) if tools else None


def sft_messages(ex: Example) -> list[dict[str, Any]]:
    assert ex.record is not None
    return messages(ex.record.get("messages") or [])


def dpo_parts(ex: Example) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], Any]:
    """(prompt messages, chosen, rejected, tools) of a preference pair."""
    assert ex.record is not None
    inp = ex.record.get("input") or {}
    return (messages(inp.get("messages") or []), messages(ex.record.get("preferred_output") or []),
            messages(ex.record.get("non_preferred_output") or []), inp.get("tools"))


# --- what a text chat template cannot take ------------------------------------------------

# The tests below run once per example for each target's rules (380,000 examples: seconds);
# plain loops, without building the list of messages first, take half the time.

@false_when_plain
def has_images(ex: Example) -> bool:
    for m in ex.messages:
        if isinstance(m, dict):
            content = m.get("content")
            if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") != "text" for p in content):
                return True
    return False


def _inputs(ex: Example) -> Any:
    rec = ex.record or {}
    return rec.get("input") if ex.kind == "dpo" else rec


@false_when_plain
def has_legacy_functions(ex: Example) -> bool:
    inp = _inputs(ex)
    if isinstance(inp, dict) and inp.get("functions"):
        return True
    return any(isinstance(m, dict) and ("function_call" in m or m.get("role") == "function") for m in ex.messages)


def has_tools(ex: Example) -> bool:
    inp = _inputs(ex)
    if isinstance(inp, dict) and inp.get("tools"):
        return True
    return any(isinstance(m, dict) and (m.get("tool_calls") or m.get("role") == "tool") for m in ex.messages)


def text_template_rules(examples: list[Example], label: str) -> list[str]:
    """Problems every text-only Hugging Face chat template shares."""
    out = count_rule(examples, has_images, f"image parts; {label} exports are for text models here. Remove the images or export for OpenAI vision fine-tuning.")
    out += count_rule(examples, has_legacy_functions,
                      f"legacy `functions` / `function_call`; {label} chat templates read `tools` / `tool_calls`. Convert them to tool calls first.")
    return out

