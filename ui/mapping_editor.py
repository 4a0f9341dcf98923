"""The column-mapping editor of the Upload page: every column with sample values, a role
picker per role (detection only pre-fills it), a speaker-label editor for one message per
row, how sure the detection is and why, and the exact messages of the first example with
the choices as they stand, before the user applies them.

All user text (column names, cells, speaker labels) goes through dataframes or ``st.text``,
never Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui import safe
from validators.reading import ingest, mapping, speakers
from validators.reading.readers import InputError, Table
from validators.session import Session

MAIN_ROLES = ("user", "assistant", "system")
CONV_ROLES = ("conversation", "turn", "role", "content")
MORE_ROLES = ("context", "weight", "chosen", "rejected", "alternating")

LABELS = {
    "user": "Question: what the user says",
    "assistant": "Answer: the reply the model should learn",
    "system": "System prompt: instructions placed before each conversation",
    "conversation": "Conversation id: rows with the same id form one conversation",
    "turn": "Turn order: sorts the messages of a conversation",
    "role": "Speaker: who says each message (one message per row)",
    "content": "Message text (one message per row)",
    "context": "Extra input joined below the question (e.g. an “input” column next to “instruction”)",
    "weight": "Learn from this answer? (1 = yes, 0 = no)",
    "chosen": "Better answer (preference training: the model learns to prefer it)",
    "rejected": "Worse answer (preference training: the model learns to avoid it)",
    "alternating": "Questions and answers in one column: a question, its answer on the row below, and so on",
}
SPEAKER_WORDS = {"user": "user (the person asking)", "assistant": "assistant (the reply to learn)", "system": "system prompt",
                 "tool": "tool result", "ignore": "leave these rows out"}
SURE_WORDS = {
    "sure": "Sure: the column names say what they hold.",
    "likely": "Likely: read from parts of the column names or from what the cells look like. Check the preview.",
    "guess": "A guess: check the preview below before you apply it.",
    "none": "Not recognised: choose the columns below.",
    "chosen": "Chosen by you.",
}
MAX_SPEAKERS = 40


@st.cache_resource(show_spinner="Reading the columns…", max_entries=4)
def _table(ws: str, sheet: str | None, encoding: str | None, header: bool | None, join_lines: bool,
           _live: Session) -> tuple[Table | None, mapping.Suggestion | None]:
    """The file as columns and rows plus the detected mapping, once per workspace, sheet and
    reading choices (see ``ui/reading.py``)."""
    content, _ = ingest.read(_live.data(), _live.name, _live.meta.get("format"), sheet, encoding=encoding,
                             header=header, join_lines=join_lines)
    table = ingest.as_table(content)
    if table is None or not table.rows:
        return table, None
    return table, mapping.suggest(table.columns, [c for _, c in table.rows])


def column_overview(table: Table, sug: mapping.Suggestion, current: dict[str, Any]) -> None:
    """Every column, a few of its values (as plain text), and what it is used as now."""
    used = {v: k for k, v in current.items() if isinstance(v, str) and k in mapping.ROLES}
    rows = []
    for col in table.columns:
        p = sug.profiles.get(col) or mapping.Profile(col)
        look = "empty" if not p.filled else "identifiers" if p.id_like else "same value in every row" if p.constant else "text"
        if p.filled and p.qmark >= 0.3:
            look += f", {p.qmark:.0%} end with “?”"
        rows.append({"column": col, "used as": LABELS.get(used.get(col, ""), "—").split(":")[0],
                     "looks like": look, "sample values": "  ·  ".join(_short(s) for s in p.samples)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def confidence(detection: dict[str, Any]) -> None:
    level = detection.get("confidence") or "none"
    box = {"sure": st.success, "likely": st.info, "chosen": st.info}.get(level, st.warning)
    box(SURE_WORDS.get(level, level), icon=":material/rule:")
    reasons = detection.get("reasons") or []
    if reasons:
        st.text("\n".join(f"• {r}" for r in reasons[:12]))


def role_pickers(live: Session, columns: list[str], current: dict[str, Any]) -> dict[str, Any]:
    """One select per role, pre-filled from the mapping in use; returns the choices."""
    chosen: dict[str, Any] = {}
    opts = ["", *columns]  # "" = not used

    def pick(role: str, where: Any) -> None:
        value = current.get(role)
        chosen[role] = where.selectbox(
            LABELS[role], opts, index=opts.index(value) if value in opts else 0,
            format_func=lambda c: c or "— not used —", key=f"map_{role}_{live.id}_{live.version}",
        ) or None

    st.markdown("**One question and its answer per row**")
    grid = st.columns(3)
    for i, role in enumerate(MAIN_ROLES):
        pick(role, grid[i])
    st.markdown("**Conversations over several rows** (leave empty if each row is a whole example)")
    grid = st.columns(4)
    for i, role in enumerate(CONV_ROLES):
        pick(role, grid[i])
    with st.expander("More: extra input, answer weights, preference pairs, questions and answers in one column"):
        grid = st.columns(len(MORE_ROLES))
        for i, role in enumerate(MORE_ROLES):
            pick(role, grid[i])
    return chosen


def speaker_editor(live: Session, table: Table, chosen: dict[str, Any], current: dict[str, Any]) -> dict[str, str] | None:
    """Each distinct speaker label with its row count and a role select (one message per row)."""
    if not (chosen.get("role") and chosen.get("content")):
        return None
    probe = mapping.Mapping(role=chosen["role"], conversation=chosen.get("conversation"), turn=chosen.get("turn"))
    inferred, counts, _, _ = mapping.speaker_plan(probe, table.columns, [c for _, c in table.rows])
    same_column = current.get("role") == chosen["role"]
    start = {**inferred, **((current.get("speakers") or {}) if same_column else {})}
    st.markdown("**Speakers**: what each label in the speaker column is")
    out: dict[str, str] = {}
    labels = list(counts)[:MAX_SPEAKERS]
    for i, label in enumerate(labels):
        left, right = st.columns([2, 3])
        left.text(f"{_short(label, 40)}  ({counts[label]:,} row{'s' if counts[label] != 1 else ''})")
        choices = list(speakers.CHOICES)
        now = start.get(label)
        value = right.selectbox(
            "Role of this speaker", ["", *choices], index=(choices.index(now) + 1) if now in choices else 0,
            format_func=lambda c: SPEAKER_WORDS.get(c, "— choose —"), label_visibility="collapsed",
            key=f"spk_{i}_{live.id}_{live.version}_{chosen['role']}",
        )
        if value:
            out[label] = value
    if len(counts) > MAX_SPEAKERS:
        st.warning(f"The speaker column has {len(counts):,} different values; is it really the speaker? The first {MAX_SPEAKERS} are shown.")
    return out


def first_example_preview(table: Table, chosen: dict[str, Any], default_system: str) -> None:
    """The exact messages of the first example with the choices as they stand now."""
    st.markdown("**Preview: the first example becomes**")
    try:
        ex = ingest.first_example(table, chosen, default_system or None)
    except InputError as err:
        safe.error("This mapping does not work yet: it makes no training examples.", str(err))
        return
    if ex.record is None:
        safe.error("This mapping does not work yet: it makes no training examples.", ex.problem or "")
        return
    rows = [{"role": m.get("role"), "message": m.get("content")} for m in ex.messages if isinstance(m, dict)]
    st.text(f"Example 1, from row{'s' if len(ex.rows) > 1 else ''} {', '.join(str(r) for r in ex.rows[:12])}")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
