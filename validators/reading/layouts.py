"""Known JSON layouts → the OpenAI chat record.

Recognised: OpenAI chat (``messages``), OpenAI preference (``input`` / ``preferred_output``
/ ``non_preferred_output``, plus the older ``*_completion`` names), TRL preference
(``prompt`` / ``chosen`` / ``rejected``), prompt/completion (plain strings or lists of
messages), ShareGPT (``conversations`` of ``from`` / ``value``) and Alpaca
(``instruction`` / ``input`` / ``output``).  Anything else is treated as a table row.
"""

from __future__ import annotations

from typing import Any

SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "bot": "assistant",
    "model": "assistant", "chatgpt": "assistant", "system": "system", "tool": "tool",
    "function_response": "tool", "observation": "tool",
}


def detect_layout(value: Any) -> str:
    """Name the layout of one JSON object ("table" when it is none of the known chat ones)."""
    if not isinstance(value, dict):
        return "invalid"
    keys = set(value)
    if "messages" in keys:
        return "messages"
    if "input" in keys and ({"preferred_output", "preferred_completion"} & keys):
        return "dpo"
    if {"chosen", "rejected"} <= keys:
        return "trl_preference"
    if "conversations" in keys and isinstance(value["conversations"], list):
        return "sharegpt"
    if {"instruction", "output"} <= keys:
        return "alpaca"
    if {"prompt", "completion"} <= keys:
        return "prompt_completion"
    return "table"


def to_record(value: dict[str, Any], layout: str) -> tuple[dict[str, Any], str, list[str]]:
    """(OpenAI record, kind, notes about what was converted) for a known layout."""
    notes: list[str] = []
    if layout == "messages":
        return value, "sft", notes
    if layout == "dpo":
        rec = dict(value)
        for old, new in (("preferred_completion", "preferred_output"), ("non_preferred_completion", "non_preferred_output")):
            if old in rec and new not in rec:
                rec[new] = rec.pop(old)
                notes.append(f"renamed {old} to {new}")
        return rec, "dpo", notes
    if layout == "trl_preference":
        prompt = value.get("prompt")
        msgs = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        if value.get("system") and not any(isinstance(m, dict) and m.get("role") == "system" for m in msgs):
            msgs = [{"role": "system", "content": value["system"]}, *msgs]
        return {
            "input": {"messages": msgs},
            "preferred_output": _as_reply(value.get("chosen")),
            "non_preferred_output": _as_reply(value.get("rejected")),
        }, "dpo", notes
    if layout == "sharegpt":
        msgs = []
        for turn in value["conversations"]:
            if isinstance(turn, dict) and ("from" in turn or "value" in turn):
                who = turn.get("from")
                role = SHAREGPT_ROLES.get(str(who).lower(), who) if who is not None else None
                msgs.append({"role": role, "content": turn.get("value")})
            else:
                msgs.append(turn)
        if value.get("system") and not any(m.get("role") == "system" for m in msgs if isinstance(m, dict)):
            msgs.insert(0, {"role": "system", "content": value["system"]})
        return {"messages": msgs}, "sft", notes
    if layout == "alpaca":
        user = str(value.get("instruction") or "")
        extra = value.get("input")
        if extra not in (None, ""):
            user = f"{user}\n\n{extra}"
        msgs = [{"role": "user", "content": user}, {"role": "assistant", "content": value.get("output")}]
        if value.get("system"):
            msgs.insert(0, {"role": "system", "content": value["system"]})
        return {"messages": msgs}, "sft", notes
    if layout == "prompt_completion":
        prompt, completion = value.get("prompt"), value.get("completion")
        p = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        c = completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}]
        return {"messages": [*p, *c]}, "sft", notes
    raise ValueError(f"not a chat layout: {layout}")


def _as_reply(value: Any) -> Any:
    if isinstance(value, list):
        return value
    return [{"role": "assistant", "content": value}]
