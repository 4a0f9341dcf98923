"""Validate: the flagged examples, errors first, edited in place; bulk fixes; undo.

Edits go through ``on_change`` callbacks that read the editor's ``edited_rows`` from
widget state, write them to the workspace (committed before the page confirms) and patch
the findings.  The editor's key includes the workspace version, so after each edit a
fresh editor is drawn from the saved data: stale ``edited_rows`` can never be re-applied
to rows that moved (the edit-loss bugs of streamlit issues 7749 / 11679 / 8426).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from ui import state, views
from ui.entry import through_app
from ui.live import Live
from validators import fixes, pii, tokens
from validators.checks import CheckResult

through_app()  # a fresh server's first run must go through app.py

PAGE_SIZE = 50
COL_WIDTHS = {"example": 70, "row": 90, "system": 110, "user": 200, "assistant": 220, "issues": 250}  # px; fits a laptop screen
MULTI_PAGE_SIZE = 10
ROLE_NAMES = {"system", "user", "assistant", "tool", "function", "developer"}


def flash(text: str) -> None:
    st.session_state["val_flash"] = text


def on_table_edit(key: str, live: Live, numbers: list[int]) -> bool:
    """Apply every edited cell of this editor page to the workspace, in one saved step;
    True when something was saved."""
    edits: dict[Any, dict[str, Any]] = (st.session_state.get(key) or {}).get("edited_rows", {})
    new = []
    for row, values in edits.items():
        r = int(row)
        if 0 <= r < len(numbers):
            new.append(views.with_cells(live.example(numbers[r]), values))
    if new:
        live.apply(new, f"Edited example {', '.join(str(e.index) for e in new)}")
        flash(f"Saved your edit to example {', '.join(str(e.index) for e in new)} and checked it again.")
    return bool(new)


def run_fix(live: Live, name: str) -> None:
    """One bulk fix over the whole workspace; only what it changed is saved."""
    res = live.check()
    examples = live.examples
    info = res.model
    pos = {e.index: p for p, e in enumerate(examples)}

    def tokens_of(e: Any) -> int:
        same = live.example(e.index) is e
        return int(res.counts.total[pos[e.index]]) if same else tokens.count_one(e, info.encoding)

    label, fn = BULK[name]
    if name == "fill_default_system":
        fix = fn(examples, st.session_state.get("fix_system") or live.options.get("default_system") or "")
    elif name == "drop_unusable":
        fix = fn(examples, res.error_examples())
    elif name == "drop_over_limit":
        fix = fn(examples, [int(t) for t in res.counts.total], info.limit)
    elif name == "trim_over_limit":
        fix = fn(examples, tokens_of, info.limit)
    else:
        fix = fn(examples)
    live.apply_fix(fix, label)
    flash(f"{label}: {fix.summary}")


def run_undo(live: Live) -> None:
    done = live.undo()
    flash(f"Undone: {done}." if done else "Nothing to undo.")


BULK: dict[str, tuple[str, Any]] = {
    "trim_whitespace": ("Trim whitespace", fixes.trim_whitespace),
    "system_first": ("Move system first", fixes.system_first),
    "merge_consecutive": ("Merge consecutive turns", fixes.merge_consecutive),
    "drop_empty_messages": ("Drop empty messages", fixes.drop_empty_messages),
    "fill_default_system": ("Fill default system prompt", fixes.fill_default_system),
    "drop_unusable": ("Leave out examples with errors", fixes.drop_unusable),
    "drop_over_limit": ("Drop over-limit examples", fixes.drop_over_limit),
    "trim_over_limit": ("Trim over-limit examples", fixes.trim_over_limit),
    "redact_pii": ("Redact personal data and secrets", pii.redact_pii),
    "fix_mojibake": ("Repair garbled characters", fixes.fix_mojibake),
}


def bulk_fixes(live: Live) -> None:
    with st.expander("One-click fixes", expanded=True):
        st.caption("Each fix says how many examples it changed. Left-out examples stay listed in the export's report. Undo reverses the last change.")
        st.text_input("Default system prompt for “Fill default system prompt”", value=live.options.get("default_system") or "", key="fix_system")
        cols = st.columns(4)
        for i, (name, (label, _fn)) in enumerate(BULK.items()):
            cols[i % 4].button(label, key=f"fix_{name}", on_click=run_fix, args=(live, name), width="stretch")
        st.button("↩ Undo last change", key="undo", on_click=run_undo, args=(live,))


def page_of(numbers: list[int], size: int, key: str) -> list[int]:
    """The slice of ``numbers`` for the page chosen in a number input (never the whole list)."""
    pages = max(1, -(-len(numbers) // size))
    if pages == 1:
        return numbers
    # The page count is part of the key: when fixes shrink the list, a stale page number
    # beyond the new last page can never be restored into the widget.
    page = st.number_input(f"Page (of {pages:,}, {size} per page)", min_value=1, max_value=pages, value=1, step=1, key=f"{key}_{pages}")
    start = (int(page) - 1) * size
    return numbers[start:start + size]


def table_editor(live: Live, numbers: list[int], by: dict[int, list[Any]]) -> None:
    shown = page_of(numbers, PAGE_SIZE, "val_page_single")
    rows = [{"example": n, "row": live.example(n).row, **views.cells(live.example(n)), "issues": views.issue_text(by.get(n, []))} for n in shown]
    frame = pd.DataFrame(rows, columns=["example", "row", "system", "user", "assistant", "issues"])
    key = f"ed_{live.id}_{shown[0] if shown else 0}_{live.version}"
    st.data_editor(
        frame, key=key, hide_index=True, width="stretch", num_rows="fixed", disabled=["example", "row", "issues"],
        on_change=on_table_edit, args=(key, live, shown),
        column_config={
            "example": st.column_config.NumberColumn("Example", width=COL_WIDTHS["example"]),
            "row": st.column_config.NumberColumn("Source row", width=COL_WIDTHS["row"]),
            "system": st.column_config.TextColumn("System", width=COL_WIDTHS["system"]),
            "user": st.column_config.TextColumn("User", width=COL_WIDTHS["user"]),
            "assistant": st.column_config.TextColumn("Assistant", width=COL_WIDTHS["assistant"]),
            "issues": st.column_config.TextColumn("Issues (why it is flagged)", width=COL_WIDTHS["issues"]),
        },
    )
    if on_table_edit(key, live, shown):
        # Edits that arrived without the callback (state seeded before the run, as AppTest
        # does): saved now, then redrawn from the saved data under the new version's key.
        st.rerun()
    st.caption("Double-click a cell to edit it; the change is saved and re-checked as soon as you leave the cell.")
    reasons = [f"Example {n} (row {live.example(n).row})\n" + "\n".join("  " + line for line in views.issue_text(by[n]).splitlines())
               for n in shown if by.get(n)]
    if reasons:
        with st.expander("Why each row above is flagged (full text)", expanded=True):
            st.text("\n\n".join(reasons))  # user-derived text: plain text only


def save_messages(live: Live, number: int, key: str) -> None:
    """The per-message editor's form was submitted: write its texts and weights back."""
    ex = live.example(number)
    msgs = copy.deepcopy(ex.record["messages"])
    for i, m in enumerate(msgs):
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            m["content"] = st.session_state.get(f"{key}_c{i}", m["content"])
        if isinstance(m, dict) and m.get("role") == "assistant":
            w = st.session_state.get(f"{key}_w{i}", "—")
            if w == "—":
                m.pop("weight", None)
            else:
                m["weight"] = int(w)
    live.apply([replace(ex, record={**ex.record, "messages": msgs})], f"Edited example {number}")
    flash(f"Saved your edit to example {number} and checked it again.")


def message_editor(live: Live, numbers: list[int], by: dict[int, list[Any]]) -> None:
    shown = page_of(numbers, MULTI_PAGE_SIZE, "val_page_multi")
    for n in shown:
        ex = live.example(n)
        found = by.get(n, [])
        errs = sum(f.severity == "error" for f in found)
        with st.expander(f"Example {n} (row {ex.row}) — {errs} error(s), {len(found) - errs} warning(s)", expanded=errs > 0):
            st.text(views.issue_text(found) or "No issues.")
            msgs = ex.record.get("messages") if isinstance(ex.record, dict) else None
            if ex.kind != "sft" or not isinstance(msgs, list):
                st.caption("This example cannot be edited here (preference pair or unreadable); fix it in the source file or leave it out.")
                st.code(ex.raw or str(ex.record), language=None, wrap_lines=True)
                continue
            key = f"mm_{live.id}_{n}_{live.version}"
            with st.form(key):
                for i, m in enumerate(msgs):
                    role = m.get("role") if isinstance(m, dict) else None
                    label = f"{i + 1}. {role if role in ROLE_NAMES else 'message'}"
                    if isinstance(m, dict) and isinstance(m.get("content"), str):
                        st.text_area(label, value=m["content"], key=f"{key}_c{i}")
                    else:
                        st.caption(f"{label} (not plain text, shown read-only)")
                        st.code(str(m), language=None, wrap_lines=True)
                    if role == "assistant":
                        w = m.get("weight")
                        opts = ["—", "1", "0"]
                        st.selectbox("Train on this reply (weight)", opts, index=opts.index(str(w)) if str(w) in opts else 0, key=f"{key}_w{i}",
                                     help="1: the model learns from this turn; 0: it is context only; —: not set (trained on)")
                st.form_submit_button("Save this example", on_click=save_messages, args=(live, n, key))


def dataset_notes(res: CheckResult) -> None:
    general = [f for f in res.findings if f.example is None]
    if general:
        st.text("\n".join(("Error: " if f.severity == "error" else "Warning: ") + f.message for f in general))


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Validate")
    note = st.session_state.pop("val_flash", None)
    if note:
        st.success(note)
    res = state.result(live)
    by = views.issues_by_example(res.findings)
    errors_in = len(res.error_examples())
    a, b, c = st.columns(3)
    a.metric("Examples with errors", f"{errors_in:,}")
    b.metric("Errors", f"{len(res.errors):,}")
    c.metric("Warnings", f"{len(res.warnings):,}")
    if errors_in:
        st.caption("Examples with errors are left out of the export until you fix them here.")
    dataset_notes(res)
    bulk_fixes(live)
    show = st.radio("Show", ["Flagged examples", "Only errors", "All examples"], horizontal=True, key="val_show")
    if show == "All examples":
        numbers = [e.index for e in live.examples if not e.dropped]
    else:
        numbers = views.flagged(live.examples, res.findings, errors_only=show == "Only errors")
    single = [n for n in numbers if views.is_single_turn(live.example(n))]
    multi = [n for n in numbers if n not in set(single)]
    if not numbers:
        st.success("Nothing flagged. Go on to Export.")
        st.page_link("pages/export.py", label="Export →", icon=":material/download:")
        return
    tab1, tab2 = st.tabs([f"Single-turn ({len(single):,})", f"Multi-turn and other ({len(multi):,})"])
    with tab1:
        if single:
            table_editor(live, single, by)
        else:
            st.caption("No single-turn examples here.")
    with tab2:
        if multi:
            message_editor(live, multi, by)
        else:
            st.caption("No multi-turn examples here.")


main()
