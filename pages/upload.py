"""Upload: a file or a sample → a new workspace; then the preview and the column mapping."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import encoding, safe, state, views
from ui import live as live_mod
from ui.entry import through_app
from validators import ingest, mapping
from validators.readers import InputError, sheet_names

through_app()  # a fresh server's first run must go through app.py

SAMPLES = ["support_desk.csv", "multi_turn.csv", "tool_calls.jsonl"]
TYPES = ["csv", "tsv", "xlsx", "json", "jsonl"]
MAP_ROLES = [r for r in mapping.ROLES]


def start(name: str, data: bytes) -> None:
    """Read, store and check a new file; the page then shows its workspace."""
    say, bar = state.progress_bar(f"Reading {len(data) / 1e6:.1f} MB…")
    try:
        ds = ingest.load_bytes(data, name)
    except InputError as err:
        bar.empty()
        safe.error("This file could not be read. Nothing was saved; fix the file and upload it again.", str(err))
        return
    say(0.3, f"Saving {len(ds):,} examples…")
    wid = live_mod.create_workspace(name, data, ds, {"mapping": ds.mapping})
    state.adopt(wid)
    bar.empty()
    live = state.current()
    if live is not None:
        state.result(live)  # check now, with its own progress bar, so the next pages are instant
    st.session_state["flash"] = f"Loaded {name}: {len(ds):,} examples."
    st.rerun()


def uploader() -> None:
    st.subheader("1. Choose your examples")
    left, right = st.columns([3, 2])
    with left:
        up = st.file_uploader("Upload a spreadsheet or JSON file", type=TYPES, key="uploader",
                              help="CSV, TSV, Excel (.xlsx), JSON or JSON Lines. One example per row, or one message per row with a conversation id.")
        if up is not None and st.session_state.get("uploaded_id") != up.file_id:
            st.session_state["uploaded_id"] = up.file_id  # never re-read the same upload on a rerun
            start(up.name, up.getvalue())
    with right:
        sample = st.selectbox("…or try a sample", SAMPLES, key="sample_pick")
        if st.button("Try a sample", key="sample_go", type="secondary"):
            start(sample, live_mod.sample_path(sample).read_bytes())


def preview(live: live_mod.Live) -> None:
    st.subheader("2. Check the preview")
    st.text(f"{live.name}: {len(live.examples):,} examples ({live.meta.get('format', '?')}, {live.meta.get('layout', '?')} layout)")
    st.dataframe(pd.DataFrame(views.preview_rows(live.examples)), hide_index=True, width="stretch")


def mapping_editor(live: live_mod.Live) -> None:
    st.subheader("3. Column mapping")
    columns: list[str] = live.meta.get("columns") or []
    current = dict(live.options.get("mapping") or live.meta.get("mapping") or {})
    if not columns:
        st.caption(f"This file is already in a chat layout ({live.meta.get('layout')}); no columns to map.")
    sheet = None
    if live.meta.get("format") == "xlsx":
        names = sheet_names(live.data())
        if names:
            now = live.options.get("sheet") or names[0]
            sheet = st.selectbox("Sheet", names, index=names.index(now) if now in names else 0, key=f"map_sheet_{live.id}")
    chosen: dict[str, str | None] = {}
    if columns:
        st.caption("Which column holds what. Leave a role empty if your file has no such column.")
        grid = st.columns(4)
        for i, role in enumerate(MAP_ROLES):
            opts = ["", *columns]  # "" = not used
            value = current.get(role)
            pick = grid[i % 4].selectbox(
                ROLE_LABELS.get(role, role), opts, index=opts.index(value) if value in opts else 0,
                format_func=lambda c: c or "— not used —", key=f"map_{role}_{live.id}_{live.version}",
            )
            chosen[role] = pick or None  # None un-maps a detected column
    default_system = st.text_input("Default system prompt (used where a row has none)", value=current.get("default_system") or "",
                                   key=f"map_sys_{live.id}_{live.version}")
    if st.button("Apply mapping and re-check", key="map_apply", type="primary"):
        reread(live, chosen, default_system, sheet)


ROLE_LABELS = {
    "system": "System prompt", "user": "User / question", "assistant": "Assistant / answer", "context": "Extra input (Alpaca)",
    "weight": "Assistant weight", "chosen": "Preferred answer (DPO)", "rejected": "Rejected answer (DPO)",
    "conversation": "Conversation id (multi-turn)", "turn": "Turn number (multi-turn)", "role": "Role (one message per row)",
    "content": "Message text (one message per row)",
}


def reread(live: live_mod.Live, chosen: dict[str, str | None], default_system: str, sheet: str | None) -> None:
    say, bar = state.progress_bar("Reading the file again with the new mapping…")
    try:
        ds = ingest.load_bytes(live.data(), live.name, sheet=sheet, mapping=chosen or None, default_system=default_system or None)
    except InputError as err:
        bar.empty()
        safe.error("That mapping does not work for this file; nothing was changed.", str(err))
        return
    say(0.4, "Saving…")
    options = {**live.options, "mapping": ds.mapping, "sheet": sheet, "default_system": default_system or None}
    live_mod.remap(live, ds, options)
    bar.empty()
    state.result(live)
    st.success(f"Re-read with the new mapping: {len(ds):,} examples. Edits made before were replaced.")


def main() -> None:
    st.title("Upload")
    st.caption("Turn a spreadsheet of examples into a fine-tuning file: upload, check, fix, export. Your work is saved at this page's URL.")
    flash = st.session_state.pop("flash", None)
    if flash:
        st.success("File loaded.")
        st.text(flash)
    uploader()
    ws = state.current()
    if ws is not None:
        preview(ws)
        encoding.picker(ws)
        mapping_editor(ws)
        st.page_link("pages/validate.py", label="Next: see what needs fixing →", icon=":material/fact_check:")


main()
