"""Together AI: its conversational, instruction and preference JSONL layouts.

The rules are those of Together's own file check (``together files check``; the SDK's
``together/lib/utils/files.py``, pinned in requirements.txt and run on our exports in the
tests) plus what its data-preparation docs add:

* strict UTF-8 and one JSON object per line (the export always writes that; a BOM fails
  their check, so none is written);
* exactly one layout for the whole file and no top-level keys beyond the layout's own
  (``messages`` [+ ``tools``]; ``prompt`` + ``completion``; ``input`` + ``preferred_output``
  + ``non_preferred_output``);
* roles system / user / assistant / tool, at least one assistant message, ``weight`` an
  integer 0 or 1, images (base64 JPEG / PNG / WEBP, at most 10) only in user messages;
* the docs (and the SDK's check up to 1.5): start with system or user, then no two messages
  of the same role in a row.
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf
from .base import Target, count_rule, service_limits

ROLES = ("system", "user", "assistant", "tool")
IMAGE_PREFIXES = tuple(f"data:image/{fmt};base64," for fmt in ("jpeg", "png", "webp"))
MAX_IMAGES = 10
_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name", "weight")

NOTES = [
    "Together checks the file when it is uploaded: one layout for the whole file, strict UTF-8 without a byte-order mark. "
    "This export writes it that way.",
    "Together bills epochs x training tokens (plus evaluations x validation tokens) at a rate set by the model's size, SFT or DPO, "
    "LoRA or full training; it shows the estimate once the file is uploaded.",
]


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return [p for p in content if isinstance(p, dict)]
    return [{"type": "text", "text": content if isinstance(content, str) else ""}]


def _message(msg: dict[str, Any], multimodal: bool) -> dict[str, Any]:
    """A message with the keys Together reads; text turned into parts when the conversation has any
    content list (images or text parts): their check refuses a conversation that mixes strings and lists."""
    out = {k: msg[k] for k in _KEYS if k in msg and msg[k] is not None}
    if multimodal and "content" in out:
        out["content"] = _parts(out["content"])
    return out


def _messages(msgs: list[Any]) -> list[dict[str, Any]]:
    # Together's check takes any list content as multimodal and refuses a conversation mixing lists and strings.
    multimodal = any(isinstance(m, dict) and isinstance(m.get("content"), list) for m in msgs)
    return [_message(m, multimodal) for m in msgs if isinstance(m, dict)]


def conversational_record(ex: Example) -> dict[str, Any]:
    """``{"messages": [...], "tools": [...]}``; a preference pair in Together's preference form."""
    if ex.kind == "dpo":
        return preference_record(ex)
    assert ex.record is not None
    out: dict[str, Any] = {"messages": _messages(ex.record.get("messages") or [])}
    if ex.record.get("tools"):
        out["tools"] = ex.record["tools"]
    return out


def preference_record(ex: Example) -> dict[str, Any]:
    """``{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}``."""
    if ex.kind != "dpo":
        return conversational_record(ex)
    assert ex.record is not None
    inp = ex.record.get("input") or {}
    out_inp: dict[str, Any] = {"messages": _messages(inp.get("messages") or [])}
    if inp.get("tools"):
        out_inp["tools"] = inp["tools"]
    return {"input": out_inp, "preferred_output": _messages(ex.record.get("preferred_output") or []),
            "non_preferred_output": _messages(ex.record.get("non_preferred_output") or [])}


def _single_turn(ex: Example) -> tuple[str, str] | None:
    """(prompt, completion) of a user message followed by one reply, else None."""
    msgs = [m for m in ex.messages if isinstance(m, dict)]
    if ex.kind == "dpo" or len(msgs) != 2 or [m.get("role") for m in msgs] != ["user", "assistant"]:
        return None
    prompt, completion = (hf.text_of(m.get("content")) for m in msgs)
    if not isinstance(prompt, str) or not isinstance(completion, str) or msgs[1].get("tool_calls"):
        return None
    return prompt, completion


def instruction_record(ex: Example) -> dict[str, Any]:
    """``{"prompt": "...", "completion": "..."}`` for a one-question, one-answer example."""
    pair = _single_turn(ex)
    if pair is None:  # refused by the rules; rendered as a conversation so the export never crashes
        return conversational_record(ex)
    return {"prompt": pair[0], "completion": pair[1]}


# --- rules ------------------------------------------------------------------------------------

def _msgs(ex: Example) -> list[dict[str, Any]]:
    return [m for m in ex.messages if isinstance(m, dict)]


def _bad_role(ex: Example) -> bool:
    return any(m.get("role") not in ROLES for m in _msgs(ex))


def _repeated_role(ex: Example) -> bool:
    roles = [m.get("role") for m in _msgs(ex)]
    return any(a == b for a, b in zip(roles, roles[1:]))


def _bad_start(ex: Example) -> bool:
    msgs = _msgs(ex)
    return bool(msgs) and msgs[0].get("role") not in ("system", "user")


def _no_reply(ex: Example) -> bool:
    return ex.kind == "sft" and not any(m.get("role") == "assistant" for m in _msgs(ex))


def _bad_weight(ex: Example) -> bool:
    return any("weight" in m and (type(m["weight"]) is not int or m["weight"] not in (0, 1)) for m in _msgs(ex))


def _images(m: dict[str, Any]) -> list[dict[str, Any]]:
    content = m.get("content")
    return [p for p in content if isinstance(p, dict) and p.get("type") == "image_url"] if isinstance(content, list) else []


def _image_problem(ex: Example) -> bool:
    msgs = _msgs(ex)
    if any(_images(m) and m.get("role") != "user" for m in msgs) or sum(len(_images(m)) for m in msgs) > MAX_IMAGES:
        return True
    urls = [(p.get("image_url") or {}).get("url", "") for m in msgs for p in _images(m)]
    return any(not isinstance(u, str) or not u.startswith(IMAGE_PREFIXES) for u in urls)


def _weighted_image(ex: Example) -> bool:
    return any(_images(m) and m.get("weight", 0) != 0 for m in _msgs(ex))


def _legacy_functions(ex: Example) -> bool:
    return hf.has_legacy_functions(ex)


def common_rules(examples: list[Example]) -> list[str]:
    """What Together's check and docs demand of every conversation."""
    out = count_rule(examples, _bad_role, f"a role other than {', '.join(ROLES)}; Together refuses it. Rename the role (legacy `function` messages: convert to tool calls).")
    out += count_rule(examples, _bad_start, "the conversation starts with an assistant or tool message; Together's docs ask for system or user first. Add the question before the reply.")
    out += count_rule(examples, _repeated_role, "two messages of the same role in a row; Together needs the roles to alternate. Merge them into one message.")
    out += count_rule(examples, _no_reply, "no assistant message; Together's check needs at least one. Add the reply.")
    out += count_rule(examples, _bad_weight, "a `weight` that is not the integer 0 or 1; Together accepts only those. Set it to 0 or 1.")
    out += count_rule(examples, _image_problem, f"images Together cannot take: only in user messages, at most {MAX_IMAGES}, embedded as base64 JPEG, PNG or WEBP "
                      "(data:image/...;base64,...), not web links. Embed or remove them.")
    out += count_rule(examples, _weighted_image, "a message with images has a non-zero weight; Together needs weight 0 there. Set it to 0.")
    out += count_rule(examples, _legacy_functions, "legacy `functions` / `function_call`; Together reads `tools` / `tool_calls`. Convert them to tool calls first.")
    return out


def conversational_rules(examples: list[Example]) -> list[str]:
    out = count_rule(examples, lambda e: e.kind == "dpo", "preference pairs; Together wants one layout per file. Export them with the Together preference layout.")
    return out + common_rules(examples)


def instruction_rules(examples: list[Example]) -> list[str]:
    out = count_rule(examples, lambda e: _single_turn(e) is None,
                     "not one user message followed by one text reply (a system message, several turns, tool calls or a preference pair); "
                     "the instruction layout has only a prompt and a completion. Use the Together conversational layout.")
    return out + count_rule(examples, _image_problem, "images; Together's instruction layout here is text only. Use the conversational layout.")


def _pair_problem(ex: Example) -> bool:
    rec = ex.record or {}
    pref, non = rec.get("preferred_output"), rec.get("non_preferred_output")
    one = all(isinstance(x, list) and len(x) == 1 and isinstance(x[0], dict) and x[0].get("role") == "assistant" for x in (pref, non))
    inp = _msgs(ex)[: -1] if ex.kind == "dpo" and one else []
    return not one or not inp or inp[-1].get("role") == "assistant"


def preference_rules(examples: list[Example]) -> list[str]:
    out = count_rule(examples, lambda e: e.kind != "dpo", "not a preference pair; Together wants one layout per file. Export supervised examples with the conversational layout.")
    pairs = [e for e in examples if e.kind == "dpo"]
    out += count_rule(pairs, _pair_problem, "the preferred and the rejected reply must each be exactly one assistant message, after a conversation that ends with a user turn. Fix the pair.")
    return out + common_rules(pairs)


TARGETS = [
    Target("together", "Together AI (conversational)", conversational_record, notes=NOTES, rules=conversational_rules,
           family="together", layout="conversational", line_is_record="plain", **service_limits("together")),
    Target("together-instruction", "Together AI (instruction)", instruction_record, notes=NOTES, rules=instruction_rules,
           family="together", layout="instruction", **service_limits("together")),
    Target("together-preference", "Together AI (preference)", preference_record, notes=NOTES, rules=preference_rules,
           family="together", layout="preference", **service_limits("together")),
]
