"""How a CSV/TSV file's rows are read, shown and changeable on the Upload page.

The reader guesses two things a user may need to correct: whether the first row holds
column names (a file with no header row gets "Column 1", "Column 2", ...), and whether a
line that a line break outside quotes cut off belongs to the row above.  Both guesses are
shown here with a choice, so a wrong guess is one click from right ("never a dead end").
Every re-read of the file (mapping, encoding, these choices) passes the same options
through :func:`load_options`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import safe, state
from validators import session
from validators.errors import InputError
from validators.reading import ingest
from validators.session import Options, Session

FLASH = "reading_flash"


def load_options(options: Options) -> dict[str, Any]:
    """The reading choices of a workspace, as keyword arguments of ``ingest.load_bytes``."""
    reading = options.reading
    return {"encoding": options.encoding, "header": reading.get("header"), "join_lines": bool(reading.get("join_lines"))}


def _count(live: Session, code: str) -> int:
    return sum(1 for f in session.findings_from(live.meta) if f.code == code)


def choices(live: Session) -> None:
    """The two reading choices for a CSV/TSV file, with what was guessed and why."""
    if live.meta.get("format") not in ("csv", "tsv"):
        return
    reading = dict(live.options.reading)
    guessed_no_header = _count(live, "no_header") > 0
    wrapped = _count(live, "wrapped_lines")
    has_header_now = reading.get("header") if reading.get("header") is not None else not guessed_no_header
    title = "How the rows are read" + (": no header row found" if guessed_no_header else "") + (f", {wrapped} cut-off line(s)" if wrapped else "")
    with st.expander(title, expanded=guessed_no_header or bool(wrapped)):
        note = st.session_state.pop(FLASH, None)
        if note:
            st.success(note)
        header = st.checkbox("The first row holds column names", value=bool(has_header_now), key=f"read_header_{live.id}",
                             help="Untick it if the first row is already an example: the columns are then named Column 1, Column 2, …")
        join = st.checkbox("Join lines cut off by a line break to the row above", value=bool(reading.get("join_lines")),
                           key=f"read_join_{live.id}",
                           help="Some exports break a long answer over several lines without quotes; each piece then looks like a row of its own.")
        if wrapped:
            st.caption(f"{wrapped} row(s) look like the rest of the row above (listed on the Validate page). Tick the second box to join them.")
        if header != bool(has_header_now) or join != bool(reading.get("join_lines")):
            st.button("Read the file again with these choices", key="read_apply", type="primary", on_click=_reread,
                      args=(live, {"header": header, "join_lines": join}))


@state.guarded
def _reread(live: Session, reading: dict[str, Any]) -> None:
    """Re-read every row with the new reading choices; a mapping naming columns that the new
    reading no longer has is dropped (detection fills it again)."""
    opts = live.options.but(reading=reading)
    say, bar = state.progress_bar("Reading the file again…")
    try:
        try:
            ds = ingest.load_bytes(live.data(), live.name, sheet=opts.sheet, mapping=opts.mapping or None,
                                   default_system=opts.default_system or None, **load_options(opts))
        except InputError:  # the columns changed (header on/off): detect the mapping afresh
            opts = opts.but(mapping=None)
            ds = ingest.load_bytes(live.data(), live.name, sheet=opts.sheet,
                                   default_system=opts.default_system or None, **load_options(opts))
    except InputError as err:
        bar.empty()
        safe.error("The file could not be read with these choices; nothing was changed.", str(err))
        return
    say(0.5, "Saving…")
    session.remap(live, ds, opts.but(mapping=ds.mapping))
    bar.empty()
    st.session_state[FLASH] = f"Re-read {live.name}: {len(ds):,} examples. Edits made before were replaced."
