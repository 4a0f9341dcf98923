"""Which workspace this page shows, and its cached in-memory state.

The workspace id lives in the URL (``?ws=…``) so a reload, a new tab or a server restart
brings the same workspace back; session state only remembers it across page switches
(Streamlit drops query parameters when the page changes) and lists the workspaces this
browser session created.  The :class:`~validators.session.Session` per workspace is held in a
bounded LRU cache (:class:`~validators.session.SessionCache`, one per server via ``st.cache_resource``)
and re-read when its version counter in the database moved on or it was evicted.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from ui import views  # noqa: F401 - registers the per-example tests the workspace works out ahead (session.EXAMPLE_TESTS)
from validators import session
from validators.session import CheckResult, ExportResult, Session

# The server's threads hand the interpreter over every 0.5 ms instead of every 5 ms.  Why: a page's
# script lets go of it at each message it sends the browser, and while the background warm-up runs
# Python it got it back only after the warm-up's 5 ms slice: 0.65 s of Validate's 1.5 s first visit at
# 512 MB (py-spy, bench/bench_browser.py with BENCH_PYSPY) was that wait.  Only this server's threads.
SWITCH_INTERVAL_S = 0.0005
sys.setswitchinterval(SWITCH_INTERVAL_S)

MINE = "my_workspaces"
PROBLEM = "store_problem"
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# What went wrong with the workspace database, in words: (what happened, what to do).
_GONE = ("The workspace database was deleted while the app was running, so the workspaces in it are gone from this server.",
         "Upload your file again to start over. Whoever runs this app: keep the database file in place while the app runs.")
_READ_ONLY = ("The server cannot save your work: its workspace database is read-only.",
              "Your last change was not saved. Whoever runs this app: make the database file and its folder writable, then reload this page.")
_NO_FOLDER = ("The server cannot open its workspace database: the folder for it is missing, is not a folder, or cannot be written.",
              "Nothing was saved. Whoever runs this app: point FTPREP_DB at a file in a writable folder, then reload this page.")
_FULL = ("The server's disk is full, so your work could not be saved.",
         "Your last change was not saved. Whoever runs this app: free some disk space (or lower FTPREP_MAX_STORE_MB), then try again.")
_BUSY = ("The workspace database is busy (another program is holding it).", "Wait a moment and try again.")
_BROKEN = ("The server's workspace database is damaged or cannot be read.",
           "Your last change may not have been saved. Whoever runs this app: restore the database file from a backup or move it away, then reload this page.")


def store_problem(err: BaseException) -> tuple[str, str] | None:
    """The plain sentences for a database failure, or None when ``err`` is something else."""
    if isinstance(err, session.StoreMissing):
        return _GONE
    if isinstance(err, sqlite3.Error):
        text = str(err).lower()
        for words, said in (("readonly", _READ_ONLY), ("read-only", _READ_ONLY), ("full", _FULL), ("locked", _BUSY),
                            ("busy", _BUSY), ("unable to open", _NO_FOLDER)):
            if words in text:
                return said
        return _BROKEN
    if isinstance(err, PermissionError | NotADirectoryError | FileExistsError | FileNotFoundError):
        return _NO_FOLDER
    if isinstance(err, OSError) and err.errno == 28:  # ENOSPC
        return _FULL
    return None


def show_problem(said: tuple[str, str]) -> None:
    st.error(said[0], icon=":material/database:")
    st.caption(said[1])


def guarded(fn: F) -> F:
    """For widget callbacks: a database failure becomes a sentence shown by the next run
    (see :func:`pending_problem`) instead of a traceback; anything else is raised as before.
    An edit or a fix is part of the page's answer: the background warm-up steps aside meanwhile."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with session.PAGES.drawing():
                return fn(*args, **kwargs)
        except (sqlite3.Error, OSError, session.StoreMissing) as err:
            said = store_problem(err)
            if said is None:
                raise
            st.session_state[PROBLEM] = said
            return None

    return run  # type: ignore[return-value]


def plainly(step: Callable[[], object]) -> None:
    """Run a page step; a database failure (folder, read-only file, file deleted while
    running) is shown as a sentence saying what happened and what to do, never as a traceback.
    While it runs the background warm-up steps aside (``session.PAGES``)."""
    try:
        with session.PAGES.drawing():
            step()
    except (sqlite3.Error, OSError, session.StoreMissing) as err:
        said = store_problem(err)
        if said is None:
            raise
        show_problem(said)


def pending_problem() -> None:
    """Show (once) the database problem a callback met."""
    said = st.session_state.pop(PROBLEM, None)
    if said:
        show_problem(tuple(said))


@st.cache_resource(show_spinner=False)
def _registry() -> session.SessionCache:
    """One Session per (database, workspace id), shared by every session on this server; the
    least recently used are evicted (see SessionCache).  Old workspaces are tidied on start."""
    cache = session.SessionCache()
    session.tidy_store(set())
    return cache


def ws_id() -> str | None:
    """The workspace id from the URL, else the one this session last used; kept in both."""
    wid = st.query_params.get("ws") or st.session_state.get("ws")
    if wid:
        st.session_state["ws"] = wid
        if st.query_params.get("ws") != wid:
            st.query_params["ws"] = wid
    return wid


def current() -> Session | None:
    """The workspace for this page, or None (no id, or the id is unknown/deleted)."""
    wid = ws_id()
    if not wid:
        return None
    version = session.current_version(wid)
    if version is None:
        return None
    key = session.cache_key(wid)
    reg = _registry()
    cached = reg.get(key)
    if cached is None or cached.version != version:
        with st.spinner("Opening the workspace…"):
            opened = session.open_workspace(wid)
        if opened is None:
            return None
        reg.put(key, opened)
        cached = opened
    return cached


def adopt(wid: str) -> None:
    """Make ``wid`` this session's workspace (after an upload) and remember it as ours."""
    st.session_state["ws"] = wid
    st.query_params["ws"] = wid
    mine = st.session_state.setdefault(MINE, [])
    if wid not in mine:
        mine.append(wid)
    session.tidy_store(_registry().ids() | {wid})  # the retention policy, applied as work arrives


def forget(wid: str) -> None:
    """Delete a workspace for good and drop it from this session."""
    session.delete_workspace(wid)
    _registry().pop(session.cache_key(wid))
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


def result(live: Session, full: bool = False) -> CheckResult:
    """The check result, computed with a progress bar when it is not cached yet."""
    if live.result is not None and not (full and live.stale):
        return live.result
    say, bar = progress_bar("Checking the examples…")
    try:
        out = live.check(progress=say, full=full)
    except session.OpenTokenizerError as exc:  # e.g. a tokenizer folder deleted since it was chosen
        fallback = session.default_model()
        st.warning(f"The chosen base model's tokenizer is not available any more, so this workspace counts with {fallback} "
                   "again; choose a base model on the Tokens page.", icon=":material/warning:")
        st.text(str(exc))
        live.set_options(model=fallback)
        out = live.check(progress=say, full=full)
    bar.empty()
    return out


def need_workspace() -> Session | None:
    """The page's workspace, or None after pointing the user to the Upload page."""
    live = current()
    if live is None:
        if ws_id():
            st.warning("This workspace does not exist (it may have been deleted). Start a new one on the Upload page.")
            st.caption(session.retention_note())
        else:
            st.info("No data yet. Upload a file or try a sample first.")
        st.page_link("pages/upload.py", label="Go to Upload", icon=":material/upload_file:")
    return live


# Per workspace: (check result, version, which examples are exported).  The Cost page prices
# eight models, each on the exported examples: one pass over 380,000 examples per model took
# ~0.1 s each; the answer changes only with the result or the version.
_MASKS: weakref.WeakKeyDictionary[Session, tuple[Any, int, Any]] = weakref.WeakKeyDictionary()


def usable_mask(live: Session, res: CheckResult) -> Any:
    """``res.usable_mask()``, worked out once per check result and workspace version."""
    held = _MASKS.get(live)
    if held is not None and held[0] is res and held[1] == live.version:
        return held[2]
    mask = res.usable_mask()
    _MASKS[live] = (res, live.version, mask)
    return mask


# Per workspace: (check result, version, answers by name): what a page works out from the whole
# result (Validate's issues per example, its lists of flagged examples) is kept until either changes.
_PER_RESULT: weakref.WeakKeyDictionary[Session, tuple[Any, int, dict[str, Any]]] = weakref.WeakKeyDictionary()


def per_result(live: Session, res: CheckResult, name: str, make: Callable[[], T]) -> T:
    """``make()``, worked out once per check result and workspace version (a pass over 380,000
    examples or their findings on every click of a view was a few tenths of a second each).
    Callers must not change what they get."""
    held = _PER_RESULT.get(live)
    if held is None or held[0] is not res or held[1] != live.version:
        held = _PER_RESULT[live] = (res, live.version, {})
    if name not in held[2]:
        held[2][name] = make()
    return held[2][name]  # type: ignore[no-any-return]


def live_counts(live: Session, encoding: str) -> Any:
    """Token counts of the examples that will be exported, for ``encoding``; the active
    model's come from the check result, others are counted once per workspace version."""
    res = result(live)
    with st.spinner(f"Counting tokens with {encoding}…"):
        counts = live.counts_for(encoding)
    return counts.total[usable_mask(live, res)]


def live_counts_if_ready(live: Session, encoding: str) -> Any:
    """:func:`live_counts`, or ``None`` while that tokenizer is still counted in the background."""
    res = result(live)
    counts = live.counts_if_ready(encoding)
    return None if counts is None else counts.total[usable_mask(live, res)]


# Bounded: memory must not only grow (each entry holds the export's bytes, ~120 MB at 100k examples);
# a rebuild is cheap, the Session keeps every example's rendered line (export.RenderCache).
@st.cache_resource(show_spinner="Building the export…", max_entries=3, ttl=900)
def _export(ws: str, version: int, target: str, split: float, dedupe: str, _live: Session) -> ExportResult:
    return _live.export(target, split, dedupe)


def export_for(live: Session, target: str, split: float, dedupe: str) -> ExportResult:
    """The export for these settings, built once per workspace version.  Errors are always
    current; the duplicate groups are refreshed first only when the export removes them."""
    result(live, full=dedupe != "none")
    return _export(live.id, live.version, target, split, dedupe, live)


@st.cache_resource(show_spinner="Checking every target…", max_entries=8, ttl=900)
def _matrix(ws: str, version: int, _live: Session) -> dict[str, Any]:
    return _live.target_matrix()


def matrix_for(live: Session) -> dict[str, Any]:
    result(live)
    return _matrix(live.id, live.version, live)
