"""Upload: a file or a sample → a new workspace; then the preview and the column mapping."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import encoding, reading, safe, state, views
from ui import mapping_editor as editor
from ui.entry import through_app
from validators import session as core
from validators.session import InputError, Session, sheet_names

through_app()  # why: ui/entry.py

SAMPLES = ["support_desk.csv", "multi_turn.csv", "tool_calls.jsonl"]
TYPES = ["csv", "tsv", "xlsx", "json", "jsonl"]


def start(name: str, data: bytes) -> None:
    """Read, store and check a new file; the page then shows its workspace."""
    # One bar for the three steps, kept moving from inside each (core.with_progress).
    say, bar = state.progress_bar(f"Reading {len(data) / 1e6:.1f} MB…")
    try:
        ds = core.with_progress(lambda _r: core.load_bytes(data, name), say, 0.0, 0.15, f"Reading {len(data) / 1e6:.1f} MB")
    except InputError as err:
        bar.empty()
        safe.error("This file could not be read. Nothing was saved; fix the file and upload it again.", str(err))
        return
    wid = core.with_progress(lambda _r: core.create_workspace(name, data, ds, {"mapping": ds.mapping}), say, 0.15, 0.3,
                             f"Saving {len(ds):,} examples")
    state.adopt(wid)
    live = state.current()
    later = live is not None and live.result is None and len(live.examples) >= core.INCREMENTAL_MIN
    if later:
        # A large file: the page shows it first, then the check runs in the background (main
        # starts it once the page is drawn), its bar below the uploader (check_bar); a page
        # that needs the result waits for it there.
        st.session_state[CHECK_LATER] = (wid, time.monotonic())
        say(CHECK_START, "Checking the examples…")  # the same place as check_bar's, so it never vanishes
    elif live is not None and live.result is None:
        # Check now, so the next pages are instant; a missing tokenizer is said by state.result below.
        with contextlib.suppress(core.OpenTokenizerError):
            core.with_progress(lambda report: live.check(progress=report), say, 0.3, 1.0, "Checking the examples")
    if not later:
        bar.empty()
        if live is not None:
            state.result(live)
    problem = ds.detection.get("problem")
    st.session_state["flash"] = (f"Loaded {name}: {len(ds):,} rows. Its columns were not recognised: choose below which column is the question and which the answer."
                                 if problem else f"Loaded {name}: {len(ds):,} examples.")
    st.rerun()


def release(file_id: str) -> None:
    """Drop Streamlit's own copy of an upload once this run holds its bytes: the store keeps
    the upload from here on, and Streamlit would otherwise hold up to 512 MB per browser
    session until the file is removed from the picker.  (The picker still shows its name.)"""
    ctx = get_script_run_ctx()
    files = getattr(ctx, "uploaded_file_mgr", None)
    if ctx is not None and files is not None:
        with contextlib.suppress(Exception):  # only memory is at stake
            files.remove_file(ctx.session_id, file_id)


def uploader() -> Callable[[], None] | None:
    """The file picker and the samples; returns how to redraw the background check's bar
    (None when no check is running), which sits where the upload's own bar was."""
    st.subheader("1. Choose your examples")
    left, right = st.columns([3, 2])
    redraw = None
    with left:
        up = st.file_uploader("Upload a spreadsheet or JSON file", type=TYPES, key="uploader",
                              help="CSV, TSV, Excel (.xlsx), JSON or JSON Lines. One example per row, or one message per row with a conversation id.")
        if up is not None and st.session_state.get("uploaded_id") != up.file_id:
            st.session_state["uploaded_id"] = up.file_id  # never re-read the same upload on a rerun
            data = up.getvalue()
            release(up.file_id)
            start(up.name, data)
        ws = state.current()
        if ws is not None and (ws.checking() or _check_waits(ws)):
            bars: list[Any] = []
            check_bar(ws, bars)
            if bars:
                redraw = lambda: bars[-1].progress(*_check_shown(ws))  # noqa: E731
    with right:
        sample = st.selectbox("…or try a sample", SAMPLES, key="sample_pick")
        if st.button("Try a sample", key="sample_go", type="secondary"):
            start(sample, core.sample_path(sample).read_bytes())
    return redraw


CHECK_START = 0.3  # where the check's part of the upload's bar begins (start: read, save, check)
CHECK_LATER = "check_after_draw"  # (workspace, when saved) whose check starts once this run has drawn the page
CREEP = 0.01  # how far the bar creeps per second while the check waits for the page to be drawn


def _check_waits(live: Session) -> bool:
    return (st.session_state.get(CHECK_LATER) or ("",))[0] == live.id


def _check_shown(live: Session) -> tuple[float, str]:
    if not live.checking():  # about to start (CHECK_LATER): the seconds since the file was saved
        waited = time.monotonic() - (st.session_state.get(CHECK_LATER) or ("", time.monotonic()))[1]
        return CHECK_START + min(waited * CREEP, 0.05), f"Checking the examples… {waited:.0f} s"
    fraction, text = live.check_progress()
    return CHECK_START + (1.0 - CHECK_START) * fraction, text


@st.fragment(run_every=1.0)
def check_bar(live: Session, bars: list[Any]) -> None:
    """The background check's bar, redrawn every second without running the page again;
    when the check is done the whole page runs once more (the sidebar's figures).  The bar
    is put in ``bars`` so the page's own run can move it too, between the parts it draws."""
    if not live.checking() and not _check_waits(live):
        st.rerun()
    value, text = _check_shown(live)
    bar = st.progress(value, text=text)
    bars.append(bar)
    st.caption("The file is loaded and saved. You can choose the columns below meanwhile; the other pages open when the check is done.")


def preview(live: Session) -> None:
    st.subheader("3. Check the examples")
    st.text(f"{live.name}: {len(live.examples):,} examples ({live.meta.get('format', '?')} file)")
    st.dataframe(pd.DataFrame(views.preview_rows(live.examples)), hide_index=True, width="stretch")


def mapping_section(live: Session) -> None:
    """Step 2: which column is what.  Always shown for a file with columns, so a file whose
    columns were not recognised is one choice away from working, never a dead end."""
    st.subheader("2. Which column is what")
    if live.meta.get("format") in ("json", "jsonl") and live.meta.get("layout") != "table":
        # What ``_table`` would find (ingest.as_table: a chat layout has no columns), without
        # reading the whole upload again on every first visit.
        st.caption("This file is already in a chat layout (a list of conversations); there are no columns to choose.")
        return
    sheet = _sheet_picker(live)
    opts = reading.load_options(live.options)
    table, sug = editor._table(live.id, sheet, opts["encoding"], opts["header"], opts["join_lines"], live)
    if table is None or sug is None:
        st.caption("This file is already in a chat layout (a list of conversations); there are no columns to choose.")
        return
    current = dict(live.options.mapping or live.meta.get("mapping") or {})
    detected = {k: v for k, v in sug.mapping.to_dict().items() if k != "default_system"}
    detection = sug.to_dict() if detected == {k: v for k, v in current.items() if k != "default_system"} else {"confidence": "chosen"}
    editor.confidence(detection)
    editor.column_overview(table, sug, current)
    chosen = editor.role_pickers(live, table.columns, current)
    spk = editor.speaker_editor(live, table, chosen, current)
    if spk is not None:
        chosen["speakers"] = spk
    default_system = st.text_input("Default system prompt (used where a row has none)", value=current.get("default_system") or "",
                                   key=f"map_sys_{live.id}_{live.version}")
    editor.first_example_preview(table, chosen, default_system)
    if st.button("Apply these choices and re-check", key="map_apply", type="primary"):
        reread(live, chosen, default_system, sheet)


def _sheet_picker(live: Session) -> str | None:
    if live.meta.get("format") != "xlsx":
        return None
    names = sheet_names(live.data())
    if not names:
        return None
    now = live.options.sheet or names[0]
    return st.selectbox("Sheet", names, index=names.index(now) if now in names else 0, key=f"map_sheet_{live.id}")


def reread(live: Session, chosen: dict[str, Any], default_system: str, sheet: str | None) -> None:
    say, bar = state.progress_bar("Reading the file again with your choices…")
    try:
        ds = core.load_bytes(live.data(), live.name, sheet=sheet, mapping=chosen or None, default_system=default_system or None,
                               **reading.load_options(live.options))
    except InputError as err:
        bar.empty()
        safe.error("That mapping does not work for this file; nothing was changed.", str(err))
        return
    say(0.4, "Saving…")
    options = live.options.but(mapping=ds.mapping, sheet=sheet, default_system=default_system or None)
    core.remap(live, ds, options)
    bar.empty()
    state.result(live)
    st.session_state["flash"] = f"Re-read with your choices: {len(ds):,} examples. Edits made before were replaced."
    st.rerun()


def main() -> None:
    st.title("Upload")
    st.caption("Turn a spreadsheet of examples into a fine-tuning file: upload, check, fix, export. Your work is saved at this page's URL.")
    flash = st.session_state.pop("flash", None)
    if flash:
        st.success("Mapping applied." if flash.startswith("Re-read") else "File loaded.")
        st.text(flash)
    redraw = uploader()
    ws = state.current()
    if ws is not None:
        for part in (encoding.picker, reading.choices, mapping_section, preview):
            part(ws)
            if redraw is not None:  # between the parts, so the check's bar keeps moving while the page draws
                redraw()
        st.page_link("pages/validate.py", label="Next: see what needs fixing →", icon=":material/fact_check:")
        if _check_waits(ws):  # a new large upload: its check starts now the page is drawn (start)
            del st.session_state[CHECK_LATER]
            ws.start_check()


main()
