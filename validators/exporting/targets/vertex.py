"""Google Vertex AI, Gemini supervised tuning: ``systemInstruction`` + ``contents``.

One line per example, as Google's "Prepare supervised fine-tuning data for Gemini" page shows:
``{"systemInstruction": {"role": "system", "parts": [{"text": ...}]}, "contents": [{"role": "user",
"parts": [{"text": ...}]}, {"role": "model", "parts": [{"text": ...}]}]}``.  Roles are ``user`` and
``model`` only, so a leading system message becomes ``systemInstruction``; the conversation must
end with a model turn.  Preference pairs take Gemini's preference-tuning form: ``contents``
ending with the user turn, then ``completions`` scored 1 (preferred) and 0 (rejected).

Tool calls and images are not converted here (Gemini wants ``functionCall`` parts and files in
Cloud Storage): such examples are refused with a plain reason, never silently changed.
"""

from __future__ import annotations

from typing import Any

from ...model import Example
from . import hf
from .base import Target, count_rule, service_limits

NOTES = [
    "Copy the file to Cloud Storage and start a tuning job (the next step below shows how).",
    "Gemini 2.5 Flash / Flash-Lite: at most 131,072 input + output tokens per example, 1 GB and 1M text examples per file, "
    "5,000 validation examples.",
    "Gemini has no per-message weight: assistant messages marked weight 0 are trained on like the others.",
]


def _text(m: dict[str, Any]) -> str:
    return hf.text_of(m.get("content")) or ""


def _content(m: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model" if m.get("role") == "assistant" else "user", "parts": [{"text": _text(m)}]}


def _split_system(msgs: list[Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    msgs = [m for m in msgs if isinstance(m, dict)]
    if msgs and msgs[0].get("role") == "system":
        return {"role": "system", "parts": [{"text": _text(msgs[0])}]}, msgs[1:]
    return None, msgs


def record(ex: Example) -> dict[str, Any]:
    """The Gemini tuning line for one example (supervised, or preference with scored completions)."""
    assert ex.record is not None
    if ex.kind == "dpo":
        system, rest = _split_system((ex.record.get("input") or {}).get("messages") or [])
        out: dict[str, Any] = {"contents": [_content(m) for m in rest]}
        out["completions"] = [{"score": score, "completion": _content(side[0])} for score, side in
                              ((1, ex.record.get("preferred_output") or [{}]), (0, ex.record.get("non_preferred_output") or [{}]))]
    else:
        system, rest = _split_system(ex.record.get("messages") or [])
        out = {"contents": [_content(m) for m in rest]}
    if system is not None:
        return {"systemInstruction": system, **out}
    return out


def _msgs(ex: Example) -> list[dict[str, Any]]:
    return [m for m in ex.messages if isinstance(m, dict)]


def _turns(ex: Example) -> list[dict[str, Any]]:
    msgs = _msgs(ex)
    return msgs[1:] if msgs and msgs[0].get("role") == "system" else msgs


def _bad_roles(ex: Example) -> bool:
    return any(m.get("role") not in ("user", "assistant") for m in _turns(ex))


def _not_alternating(ex: Example) -> bool:
    roles = [m.get("role") for m in _turns(ex)]
    return not roles or roles[0] != "user" or any(a == b for a, b in zip(roles, roles[1:]))


def _no_final_reply(ex: Example) -> bool:
    turns = _turns(ex)
    return not turns or turns[-1].get("role") != "assistant"


def _empty_text(ex: Example) -> bool:
    return any(not _text(m).strip() for m in _msgs(ex))


def rules(examples: list[Example]) -> list[str]:
    out: list[str] = []
    if len({e.kind for e in examples}) > 1:
        out.append("The file mixes supervised examples and preference pairs; Vertex AI tunes them in separate jobs. Export them separately.")
    out += count_rule(examples, hf.has_tools, "tool calls or tool results; this Gemini export is text only. Remove the tool turns or export for another service.")
    out += count_rule(examples, hf.has_legacy_functions, "legacy `functions` / `function_call`; this Gemini export is text only. Remove them.")
    out += count_rule(examples, hf.has_images, "image parts; Gemini tuning reads images from Cloud Storage (fileData), which this export does not write. Remove the images.")
    examples = [e for e in examples if not (hf.has_tools(e) or hf.has_legacy_functions(e))]  # named once above, not again below
    out += count_rule(examples, _bad_roles, "a system message after the first message, or another role than user and assistant; Gemini has only user and model turns "
                      "plus one system instruction at the start. Move or merge it.")
    out += count_rule(examples, _not_alternating, "the turns do not alternate user, assistant, user, ... starting with the user; Gemini needs that. Merge repeated turns.")
    out += count_rule(examples, lambda e: e.kind == "sft" and _no_final_reply(e),
                      "the conversation does not end with an assistant reply; Gemini trains on the final model turn. End it with the reply.")
    out += count_rule(examples, _empty_text, "an empty message; Gemini parts need text. Fill it in or remove the message.")
    return out


TARGETS = [
    Target("vertex", "Google Vertex AI (Gemini)", record, notes=NOTES, rules=rules, family="vertex", layout="gemini", **service_limits("vertex")),
]
