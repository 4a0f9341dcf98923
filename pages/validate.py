"""Validate: the flagged examples, errors first, edited in place; bulk fixes; undo.

Edits go through ``on_change`` callbacks that read the editor's ``edited_rows`` from
widget state, write them to the workspace (committed before the page confirms) and patch
the findings.  The grid's key (its widget identity) names the workspace, the examples
shown and how many grid edits this session has handled; it never holds the workspace
version.  The version can move between the draw the user typed into and the run that
delivers the edit (another tab, another page's option); a key that moved with it would
make Streamlit treat the grid as a new widget and drop the old one's ``edited_rows``
without calling back.  Bumping the count only after an edit was handled still draws a
fresh editor from the saved data each time, so
stale ``edited_rows`` are never re-applied to rows that moved (streamlit issues 7749 /
11679 / 8426).

Every edit also carries the version (etag) of each example as it was drawn.  When another
tab or window changed that example in between (merged its turns, say), the edit is
refused with a plain message and the example is drawn again as it is now: it is never
written by position onto messages that moved.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from ui import state, views
from ui.entry import through_app
from validators import session as core
from validators.session import CheckResult, Session, StaleEdit

through_app()  # why: ui/entry.py

PAGE_SIZE = 50
COL_WIDTHS = {"example": 70, "row": 90, "system": 110, "user": 200, "assistant": 220, "issues": 250}  # px; fits a laptop screen
MULTI_PAGE_SIZE = 10
ROLE_NAMES = {"system", "user", "assistant", "tool", "function", "developer"}
NO_ROLE = "(no role)"
GRID_GEN = "val_grid_gen"  # grid edits handled in this session: part of the grid's key
BEHIND = ("The workspace was changed elsewhere (another tab, window or server) while this page was open, so nothing "
          "was changed. The page now shows the latest data: click again if you still want this.")


def flash(text: str, kind: str = "success") -> None:
    st.session_state["val_flash"] = (kind, text)
    if kind == "success":
        st.session_state.pop("val_fresh", None)  # examples kept on show after a refused edit


def refused(err: StaleEdit, unsaved: str = "") -> None:
    """Say that an edit was made on an older version and was not saved; the page then
    draws the example as it is now (its editor key moved on with the version)."""
    numbers = ", ".join(str(e.index) for e in err.fresh)
    st.session_state["val_fresh"] = [e.index for e in err.fresh]
    if numbers:
        flash(f"Example {numbers} was changed in another tab or window after this page showed it, so your edit was "
              "not saved (saving it would have overwritten that change). It is shown below as it is now: make your change again.",
              "warning")
    else:
        flash("The file was read again (another tab or window changed the column mapping) after this page showed it, "
              "so your edit was not saved. Find the example in the list below and make your change again.", "warning")
    if unsaved.strip():
        st.session_state["val_unsaved"] = unsaved


@state.guarded
def on_table_edit(key: str, live: Session, numbers: list[int], tags: dict[int, str] | None = None) -> bool:
    """Apply every edited cell of this editor page to the workspace, in one saved step;
    True when something was saved.  ``tags``: each example's version when the grid was drawn."""
    st.session_state["val_grid_done"] = key
    edits: dict[Any, dict[str, Any]] = (st.session_state.get(key) or {}).get("edited_rows", {})
    if edits:  # handled (saved or refused with a message): the next draw is a fresh editor
        st.session_state[GRID_GEN] = st.session_state.get(GRID_GEN, 0) + 1
    rows = {int(r): values for r, values in edits.items() if 0 <= int(r) < len(numbers)}
    if any(not live.has(numbers[r]) for r in rows):
        refused(StaleEdit([]), "\n\n".join(str(v) for values in rows.values() for v in values.values() if v))
        return False
    new = [views.with_cells(live.example(numbers[r]), values) for r, values in rows.items()]
    if not new:
        if edits:  # never a silent skip
            flash("Your edit reached a grid that is no longer on show, so it was not saved. "
                  "Find the example in the list below and make your change again.", "warning")
        return False
    base = {e.index: tags[e.index] for e in new if e.index in tags} if tags else None
    try:
        live.apply(new, f"Edited example {', '.join(str(e.index) for e in new)}", base=base)
    except StaleEdit as err:
        refused(err, "\n\n".join(str(v) for values in edits.values() for v in values.values() if v))
        return False
    flash(f"Saved your edit to example {', '.join(str(e.index) for e in new)} and checked it again.")
    return True


@state.guarded
def run_fix(live: Session, name: str) -> None:
    """One bulk fix over the whole workspace; only what it changed is saved."""
    res = live.check()
    examples = live.examples
    info = res.model
    def tokens_of(e: Any) -> int:
        same = live.example(e.index) is e
        return int(res.counts.total[live.position(e.index)]) if same else core.count_one(e, info.encoding)

    label, fn = BULK[name]
    if name == "fill_default_system":
        fix = fn(examples, st.session_state.get("fix_system") or live.options.default_system or "")
    elif name == "drop_unusable":
        fix = fn(examples, res.error_examples())
    elif name == "drop_over_limit":
        fix = fn(examples, [int(t) for t in res.counts.total], info.limit)
    elif name == "trim_over_limit":
        fix = fn(examples, tokens_of, info.limit)
    else:
        fix = fn(examples)
    try:
        live.apply_fix(fix, label)
    except StaleEdit:
        flash(BEHIND, "warning")
        return
    flash(f"{label}: {fix.summary}")


@state.guarded
def run_undo(live: Session) -> None:
    try:
        done = live.undo()
    except StaleEdit:
        flash(BEHIND, "warning")
        return
    flash(f"Undone: {done}." if done else "Nothing to undo.")


BULK: dict[str, tuple[str, Any]] = {
    "trim_whitespace": ("Trim whitespace", core.trim_whitespace),
    "system_first": ("Move system first", core.system_first),
    "merge_consecutive": ("Merge consecutive turns", core.merge_consecutive),
    "drop_empty_messages": ("Drop empty messages", core.drop_empty_messages),
    "fill_default_system": ("Fill default system prompt", core.fill_default_system),
    "drop_unusable": ("Leave out examples with errors", core.drop_unusable),
    "drop_over_limit": ("Drop over-limit examples", core.drop_over_limit),
    "trim_over_limit": ("Trim over-limit examples", core.trim_over_limit),
    "redact_pii": ("Redact personal data and secrets", core.redact_pii),
    "fix_mojibake": ("Repair garbled characters", core.fix_mojibake),
}


def bulk_fixes(live: Session) -> None:
    with st.expander("One-click fixes", expanded=True):
        st.caption("Each fix says how many examples it changed. Left-out examples stay listed in the export's report. Undo reverses the last change.")
        st.text_input("Default system prompt for “Fill default system prompt”", value=live.options.default_system or "", key="fix_system")
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


def seeded_grid_edit(live: Session) -> None:
    """Edits that arrived without the callback (state seeded before the run, as AppTest
    does): saved (or refused) with the versions the grid was drawn with, then redrawn."""
    prior = st.session_state.get("val_grid_prior")
    if not prior or prior[0] == st.session_state.get("val_grid_done"):
        return
    if (st.session_state.get(prior[0]) or {}).get("edited_rows"):
        on_table_edit(prior[0], live, prior[1], prior[2])
        st.rerun()


def grid_key(live: Session, shown: list[int]) -> str:
    """The grid's widget identity: this workspace, these examples in this order, and the
    number of grid edits this session has handled.  Not the workspace version: that can
    move between the draw an edit was typed into and the run delivering it (another page's
    option, another tab), and a new key makes Streamlit drop the edit unseen.  An edit made
    on an older version still carries that version's etags and is refused by the store."""
    rows = hashlib.blake2s(",".join(map(str, shown)).encode(), digest_size=8).hexdigest()
    return f"ed_{live.id}_{rows}_{st.session_state.get(GRID_GEN, 0)}"


def table_editor(live: Session, numbers: list[int], by: dict[int, list[Any]]) -> None:
    seeded_grid_edit(live)
    shown = page_of(numbers, PAGE_SIZE, "val_page_single")
    rows = [{"example": n, "row": live.example(n).row, **views.cells(live.example(n)), "issues": views.issue_text(by.get(n, []))} for n in shown]
    frame = pd.DataFrame(rows, columns=["example", "row", "system", "user", "assistant", "issues"])
    key = grid_key(live, shown)
    tags = live.etags(shown)
    st.session_state["val_grid_prior"] = (key, shown, tags)
    st.data_editor(
        frame, key=key, hide_index=True, width="stretch", num_rows="fixed", disabled=["example", "row", "issues"],
        on_change=on_table_edit, args=(key, live, shown, tags),
        column_config={
            "example": st.column_config.NumberColumn("Example", width=COL_WIDTHS["example"]),
            "row": st.column_config.NumberColumn("Source row", width=COL_WIDTHS["row"]),
            "system": st.column_config.TextColumn("System", width=COL_WIDTHS["system"]),
            "user": st.column_config.TextColumn("User", width=COL_WIDTHS["user"]),
            "assistant": st.column_config.TextColumn("Assistant", width=COL_WIDTHS["assistant"]),
            "issues": st.column_config.TextColumn("Issues (why it is flagged)", width=COL_WIDTHS["issues"]),
        },
    )
    st.caption("Double-click a cell to edit it; the change is saved and re-checked as soon as you leave the cell.")
    reasons = [f"Example {n} (row {live.example(n).row})\n" + "\n".join("  " + line for line in views.issue_text(by[n]).splitlines())
               for n in shown if by.get(n)]
    if reasons:
        with st.expander("Why each row above is flagged (full text)", expanded=True):
            st.text("\n\n".join(reasons))  # user-derived text: plain text only


@state.guarded
def save_messages(live: Session, number: int, key: str, tag: str | None = None, shown: tuple[Any, ...] = ()) -> None:
    """The per-message editor's form was submitted: write its roles, texts and weights
    back, leave out the messages marked for removal and add the new one, as one step that
    Undo reverses.  ``tag``: the example's version when the form was drawn; ``shown``:
    the texts it showed (to hand back only what the user typed if the save is refused)."""
    get = st.session_state.get
    drawn = range(len(shown)) if shown else range(len(live.example(number).messages) if live.has(number) else 0)
    texts = {i: get(f"{key}_c{i}") for i in drawn if isinstance(get(f"{key}_c{i}"), str)}
    added = (get(f"{key}_nr") or "assistant", get(f"{key}_nc") or "")
    typed = "\n\n".join([*(t for i, t in texts.items() if i >= len(shown) or t != shown[i]), added[1]])
    if not live.has(number):
        refused(StaleEdit([]), typed)
        return
    ex = live.example(number)
    if tag and live.etags([number])[number] != tag:
        refused(StaleEdit([ex]), typed)  # before reading the form against messages that moved
        return
    msgs = ex.record["messages"]
    roles = {i: get(f"{key}_r{i}") for i in drawn if get(f"{key}_r{i}") in ROLE_NAMES}
    weights = {i: get(f"{key}_w{i}") for i in drawn if get(f"{key}_w{i}")}
    removed = {i for i in drawn if get(f"{key}_x{i}")}
    new = views.edited_messages(msgs, texts, roles, weights, removed, added)
    try:
        live.apply([replace(ex, record={**ex.record, "messages": new})], f"Edited example {number}",
                   base={number: tag} if tag else None)
    except StaleEdit as err:
        refused(err, typed)
        return
    flash(f"Saved your edit to example {number} and checked it again.")


def message_fields(key: str, i: int, m: Any) -> None:
    """One message: its role, its text (plain text only), its weight, and "remove"."""
    role = m.get("role") if isinstance(m, dict) else None
    if not isinstance(m, dict) or not isinstance(m.get("content"), str):
        st.caption(f"{i + 1}. {role if role in ROLE_NAMES else 'message'} (not plain text, shown read-only)")
        st.code(str(m), language=None, wrap_lines=True)
        st.checkbox("Remove this message", key=f"{key}_x{i}")
        return
    # An unknown role stays as it is unless the user picks another (saving never changes it silently).
    now = role if isinstance(role, str) else NO_ROLE
    roles = list(views.EDIT_ROLES) + ([now] if now not in views.EDIT_ROLES else [])
    left, right = st.columns([1, 4])
    with left:
        st.selectbox(f"{i + 1}. Role", roles, index=roles.index(now), key=f"{key}_r{i}",
                     help="Who says this: the system prompt, the user, or the assistant (the reply the model learns)")
        if role == "assistant":
            w = m.get("weight")
            opts = [views.NO_WEIGHT, "1", "0"]
            st.selectbox("Train on this reply (weight)", opts, index=opts.index(str(w)) if str(w) in opts else 0, key=f"{key}_w{i}",
                         help="1: the model learns from this turn; 0: it is context only; —: not set (trained on)")
        st.checkbox("Remove this message", key=f"{key}_x{i}")
    with right:
        st.text_area(f"Message {i + 1} ({role if role in ROLE_NAMES else 'no role'})", value=m["content"], key=f"{key}_c{i}")


def message_editor(live: Session, numbers: list[int], by: dict[int, list[Any]], fresh: set[int]) -> None:
    shown = page_of(numbers, MULTI_PAGE_SIZE, "val_page_multi")
    for n in shown:
        ex = live.example(n)
        found = by.get(n, [])
        errs = sum(f.severity == "error" for f in found)
        with st.expander(f"Example {n} (row {ex.row}) — {errs} error(s), {len(found) - errs} warning(s)", expanded=errs > 0 or n in fresh):
            st.text(views.issue_text(found) or "No issues.")
            msgs = ex.record.get("messages") if isinstance(ex.record, dict) else None
            if ex.kind != "sft" or not isinstance(msgs, list):
                st.caption("This example cannot be edited here (preference pair or unreadable); fix it in the source file or leave it out.")
                st.code(ex.raw or str(ex.record), language=None, wrap_lines=True)
                continue
            key = f"mm_{live.id}_{n}_{live.version}"
            with st.form(key):
                for i, m in enumerate(msgs):
                    message_fields(key, i, m)
                st.divider()
                a, b = st.columns([1, 4])
                a.selectbox("Add a message: role", list(views.EDIT_ROLES), index=2, key=f"{key}_nr")
                b.text_area("Add a message at the end (left empty: nothing is added)", value="", key=f"{key}_nc")
                st.form_submit_button("Save this example", on_click=save_messages, args=(live, n, key, live.etags([n])[n], tuple(m.get("content") if isinstance(m, dict) else None for m in msgs)))
            st.caption("Changing a role, removing or adding a message is saved as one step: “↩ Undo last change” puts it back.")


def dataset_notes(res: CheckResult) -> None:
    general = [f for f in res.findings if f.example is None]
    if general:
        st.text("\n".join(("Error: " if f.severity == "error" else "Warning: ") + f.message for f in general))


@st.cache_resource(show_spinner=False, max_entries=8, ttl=900)  # bounded: memory must not only grow
def _single_turn(ws: str, version: int, _live: Session) -> frozenset[int]:
    """The examples editable as one grid row, for this version of the workspace (each example's
    answer is kept by the workspace: after an edit only the edited examples are asked again)."""
    return _live.holding(views.SINGLE_TURN)


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Validate")
    note = st.session_state.pop("val_flash", None)
    if note:
        kind, text = note if isinstance(note, tuple) else ("success", note)
        (st.warning if kind == "warning" else st.success)(text)
    unsaved = st.session_state.pop("val_unsaved", None)
    if unsaved:
        st.caption("The text you typed, not saved (copy it if you need it):")
        st.code(unsaved, language=None, wrap_lines=True)
    res = state.result(live)
    by = state.per_result(live, res, "issues", lambda: views.issues_by_example(res.findings))  # once per result, not per click
    errors_in = len(state.per_result(live, res, "error_examples", res.error_examples))
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
        numbers = state.per_result(live, res, show, lambda: [e.index for e in live.examples if not e.dropped])
    else:
        numbers = state.per_result(live, res, show, lambda: views.flagged(live.examples, res.findings, errors_only=show == "Only errors"))
    # After a refused edit, the examples concerned are shown first, as they are now, even
    # when the other tab's change fixed them (until the next saved edit).
    fresh = [n for n in st.session_state.get("val_fresh") or [] if live.has(n) and not live.example(n).dropped]
    first = set(fresh)
    numbers = fresh + [n for n in numbers if n not in first]
    one_row = _single_turn(live.id, live.version, live)  # built once per version: a pass over every example per run cost seconds at 400k
    single = [n for n in numbers if n in one_row]
    multi = [n for n in numbers if n not in one_row]
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
            message_editor(live, multi, by, set(fresh))
        else:
            st.caption("No multi-turn examples here.")


main()
