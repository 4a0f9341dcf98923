"""Which workspace this page shows, and its cached in-memory state.

The workspace id lives in the URL (``?ws=…``) so a reload, a new tab or a server restart
brings the same workspace back; session state only remembers it across page switches
(Streamlit drops query parameters when the page changes) and lists the workspaces this
browser session created.  The :class:`~ui.live.Live` object per workspace is cached with
``st.cache_resource`` and keyed by workspace id and its version counter in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from ui import live as live_mod
from ui.live import Live
from validators import catalog, checks, open_tokenizers
from validators import workspace as store

MINE = "my_workspaces"


@st.cache_resource(show_spinner=False)
def _registry() -> dict[tuple[str, str], Live]:
    """One Live per (database, workspace id), shared by every session on this server."""
    return {}


def ws_id() -> str | None:
    """The workspace id from the URL, else the one this session last used; kept in both."""
    wid = st.query_params.get("ws") or st.session_state.get("ws")
    if wid:
        st.session_state["ws"] = wid
        if st.query_params.get("ws") != wid:
            st.query_params["ws"] = wid
    return wid


def current() -> Live | None:
    """The Live workspace for this page, or None (no id, or the id is unknown/deleted)."""
    wid = ws_id()
    if not wid:
        return None
    version = live_mod.current_version(wid)
    if version is None:
        return None
    key = (str(store.db_path().resolve()), wid)
    reg = _registry()
    cached = reg.get(key)
    if cached is None or cached.version != version:
        with st.spinner("Opening the workspace…"):
            opened = live_mod.open_workspace(wid)
        if opened is None:
            return None
        reg[key] = cached = opened
    return cached


def adopt(wid: str) -> None:
    """Make ``wid`` this session's workspace (after an upload) and remember it as ours."""
    st.session_state["ws"] = wid
    st.query_params["ws"] = wid
    mine = st.session_state.setdefault(MINE, [])
    if wid not in mine:
        mine.append(wid)


def forget(wid: str) -> None:
    """Delete a workspace for good and drop it from this session."""
    live_mod.delete_workspace(wid)
    _registry().pop((str(store.db_path().resolve()), wid), None)
    st.session_state[MINE] = [w for w in st.session_state.get(MINE, []) if w != wid]
    leave()


def leave() -> None:
    """Stop showing a workspace (the "New workspace" button)."""
    st.session_state.pop("ws", None)
    if "ws" in st.query_params:
        del st.query_params["ws"]


def progress_bar(label: str) -> tuple[Callable[[float, str], None], Any]:
    """An ``st.progress`` bar and a callback the core's ``progress=`` argument can drive."""
    bar = st.progress(0.0, text=label)

    def say(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    return say, bar


def result(live: Live, full: bool = False) -> checks.CheckResult:
    """The check result, computed with a progress bar when it is not cached yet."""
    if live.result is not None and not (full and live.stale):
        return live.result
    say, bar = progress_bar("Checking the examples…")
    try:
        out = live.check(progress=say, full=full)
    except open_tokenizers.OpenTokenizerError as exc:  # e.g. a tokenizer folder deleted since it was chosen
        fallback = catalog.default_model()
        st.warning(f"The chosen base model's tokenizer is not available any more, so this workspace counts with {fallback} "
                   "again; choose a base model on the Tokens page.", icon=":material/warning:")
        st.text(str(exc))
        live.set_options(model=fallback)
        out = live.check(progress=say, full=full)
    bar.empty()
    return out


def need_workspace() -> Live | None:
    """The page's workspace, or None after pointing the user to the Upload page."""
    live = current()
    if live is None:
        if ws_id():
            st.warning("This workspace does not exist (it may have been deleted). Start a new one on the Upload page.")
        else:
            st.info("No data yet. Upload a file or try a sample first.")
        st.page_link("pages/upload.py", label="Go to Upload", icon=":material/upload_file:")
    return live


def live_counts(live: Live, encoding: str) -> Any:
    """Token counts of the examples that will be exported, for ``encoding``; the active
    model's come from the check result, others are counted once per workspace version."""
    res = result(live)
    with st.spinner(f"Counting tokens with {encoding}…"):
        counts = live.counts_for(encoding)
    return counts.total[res.usable_mask()]


@st.cache_resource(show_spinner="Building the export…", max_entries=8)
def _export(ws: str, version: int, target: str, split: float, dedupe: str, _live: Live) -> Any:
    from validators import export

    return export.build(_live.check(full=dedupe != "none"), target, split, dedupe, 0, _live.source_rows)


def export_for(live: Live, target: str, split: float, dedupe: str) -> Any:
    """The export for these settings, built once per workspace version.  Errors are always
    current; the duplicate groups are refreshed first only when the export removes them."""
    result(live, full=dedupe != "none")
    return _export(live.id, live.version, target, split, dedupe, live)


@st.cache_resource(show_spinner="Checking every target…", max_entries=8)
def _matrix(ws: str, version: int, _live: Live) -> Any:
    from validators import matrix

    return matrix.target_matrix(_live.check())


def matrix_for(live: Live) -> Any:
    result(live)
    return _matrix(live.id, live.version, live)
