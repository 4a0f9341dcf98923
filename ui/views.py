"""Turning examples into plain table rows for display and for the single-turn editor.

No Streamlit here: these are pure functions the pages and the tests share.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from typing import Any

from validators import session as core
from validators.checking.semantic import text_of
from validators.model import Example, Finding

EDIT_COLUMNS = ("system", "user", "assistant")
PLAIN_KEYS = {"role", "content"}


def is_single_turn(ex: Example) -> bool:
    """[system?] user assistant with plain-string content and no other keys: editable as one row."""
    if ex.kind != "sft":
        return False
    if ex.record is None:
        return True  # an empty/unreadable row: writing the cells creates the example
    msgs = ex.record.get("messages")
    if not isinstance(msgs, list) or set(ex.record) != {"messages"}:
        return False
    roles = [m.get("role") if isinstance(m, dict) else None for m in msgs]
    if roles not in (["user", "assistant"], ["system", "user", "assistant"]):
        return False
    return all(set(m) <= PLAIN_KEYS and isinstance(m.get("content"), str) for m in msgs)


SINGLE_TURN = "single_turn"
core.EXAMPLE_TESTS[SINGLE_TURN] = is_single_turn  # kept per example and worked out ahead by the workspace


def cells(ex: Example) -> dict[str, str]:
    """system / user / assistant text of an example (first of each role, last assistant)."""
    out = dict.fromkeys(EDIT_COLUMNS, "")
    for m in ex.messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role in ("system", "user") and not out[role]:
            out[role] = text_of(m.get("content"))
        elif role == "assistant":
            out["assistant"] = text_of(m.get("content"))
    return out


def with_cells(ex: Example, values: dict[str, Any]) -> Example:
    """The single-turn example with the edited cells written in (empty system = no system message)."""
    now = {**cells(ex), **{k: ("" if v is None else str(v)) for k, v in values.items() if k in EDIT_COLUMNS}}
    msgs = [{"role": r, "content": now[r]} for r in EDIT_COLUMNS if r != "system" or now["system"].strip()]
    return replace(ex, record={"messages": msgs}, problem=None, raw=None)


def issues_by_example(findings: list[Finding]) -> dict[int, list[Finding]]:
    out: dict[int, list[Finding]] = {}
    for f in findings:
        if f.example is not None:
            out.setdefault(f.example, []).append(f)
    return out


def issue_text(found: list[Finding]) -> str:
    """One line per finding, errors first, without the "Example N (row R):" prefix."""
    ordered = sorted(found, key=lambda f: f.severity != "error")
    return "\n".join(("Error: " if f.severity == "error" else "Warning: ") + f.message.split(": ", 1)[-1] for f in ordered)


def flagged(examples: list[Example], findings: list[Finding], errors_only: bool = False) -> list[int]:
    """Example numbers with findings, those with errors first, then file order."""
    by = issues_by_example(findings)
    pos = {e.index for e in examples if not e.dropped}
    errs = {f.example for f in findings if f.severity == "error" and f.example is not None}
    nums = [n for n in by if n in pos and (not errors_only or n in errs)]
    return sorted(nums, key=lambda n: (n not in errs, n))


def preview_rows(examples: list[Example], limit: int = 20) -> list[dict[str, Any]]:
    rows = []
    for ex in examples[:limit]:
        c = cells(ex)
        rows.append({"example": ex.index, "row": ex.row, "turns": len(ex.messages), **c, "problem": ex.problem or ""})
    return rows


def mark_differences(a: str, b: str) -> tuple[str, str]:
    """Both texts with the words that differ wrapped in ⟦ ⟧ (plain text, never markup);
    line breaks are kept as words of their own so the layout survives."""
    wa, wb = _words(a), _words(b)
    out_a: list[str] = []
    out_b: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if op == "equal":
            out_a += wa[i1:i2]
            out_b += wb[j1:j2]
            continue
        if i2 > i1:
            out_a.append("⟦" + " ".join(wa[i1:i2]) + "⟧")
        if j2 > j1:
            out_b.append("⟦" + " ".join(wb[j1:j2]) + "⟧")
    return _join(out_a), _join(out_b)


def _words(text: str) -> list[str]:
    return re.findall(r"\n|[^\s]+", text)


def _join(words: list[str]) -> str:
    return " ".join(words).replace(" \n ", "\n").replace("\n ", "\n").replace(" \n", "\n")


def conversation_text(ex: Example) -> str:
    """The conversation as "role: text" lines, for side-by-side comparison."""
    return "\n".join(f"{m.get('role')}: {text_of(m.get('content'))}" for m in ex.messages if isinstance(m, dict))


EDIT_ROLES = ("system", "user", "assistant")
NO_WEIGHT = "—"


def edited_messages(
    msgs: list[Any], texts: dict[int, str], roles: dict[int, str], weights: dict[int, str],
    removed: set[int], added: tuple[str, str] | None = None,
) -> list[Any]:
    """The per-message editor's result: texts, roles and weights written into copies of the
    messages, the removed ones left out, a new message appended (when it has text).  A
    ``weight`` is kept only on assistant messages (the API rejects it elsewhere)."""
    out: list[Any] = []
    for i, m in enumerate(msgs):
        if i in removed:
            continue
        if not isinstance(m, dict):
            out.append(m)
            continue
        m = dict(m)
        if roles.get(i):
            m["role"] = roles[i]
        if isinstance(m.get("content"), str) and i in texts:
            m["content"] = texts[i]
        w = weights.get(i, str(m.get("weight", NO_WEIGHT)))
        if m.get("role") != "assistant" or w == NO_WEIGHT:
            m.pop("weight", None)
        elif w in ("0", "1"):
            m["weight"] = int(w)
        out.append(m)
    if added and added[1].strip():
        out.append({"role": added[0], "content": added[1]})
    return out
