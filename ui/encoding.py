"""The text-encoding choice on the Upload page, with a live preview of the rows it changes.

One call from the page: ``encoding.picker(live)``.  Choosing an encoding shows, before
anything is changed, the first rows holding accented letters or symbols as they read now
and as they would read with the choice; "Read the file again" re-reads the whole file
with it (mapping and default system prompt kept) and re-checks.  User text is shown in a
dataframe (plain text), never as Markdown.
"""

from __future__ import annotations

import codecs

import pandas as pd
import streamlit as st

from ui import reading, safe, state
from validators import session
from validators.reading import decoding, ingest
from validators.reading.legacy_encoding import CHOICES, label
from validators.reading.readers import InputError
from validators.session import Session

FLASH = "enc_flash"
_UNICODE = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be")


def _canon(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def picker(live: Session) -> None:
    """The encoding select and its preview; nothing for an Excel workbook (no text encoding)."""
    fmt = live.meta.get("format")
    now = live.meta.get("encoding") or "utf-8"
    if fmt == "xlsx" or now == "xlsx":
        return
    codes = [c for c, _ in CHOICES]
    canon = [_canon(c) for c in codes]
    index = canon.index(_canon(now)) if _canon(now) in canon else 0
    legacy = _canon(now) not in [_canon(u) for u in _UNICODE]
    with st.expander(f"Text encoding: {label(now)}" + (" (detected from the file)" if legacy and not live.options.encoding else ""),
                     expanded=legacy):
        st.caption("If accented letters or symbols look wrong (doesnÕt, cafÃ©), choose the encoding the file was saved in. "
                   "The rows below show the difference before anything changes.")
        note = st.session_state.pop(FLASH, None)
        if note:
            st.success(note)
        pick = st.selectbox("Read the file as", codes, index=index, format_func=label, key=f"enc_pick_{live.id}")
        data = live.data_head(decoding.PREVIEW_BYTES + 1)  # only what the preview reads (decoding.affected_rows)
        try:
            after = dict(decoding.affected_rows(data, live.name, fmt, pick))
        except InputError as err:
            st.warning(f"The file is not valid {label(pick)} text: {err}")
            return
        before = dict(decoding.affected_rows(data, live.name, fmt, now)) if _canon(pick) != _canon(now) else after
        if not after:
            st.caption("No row holds anything but plain English letters, digits and punctuation: every encoding reads this file the same.")
            return
        unit = "line" if fmt in ("json", "jsonl") else "row"
        rows = [{unit: r, "now": before.get(r, ""), f"as {label(pick)}": text} for r, text in after.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        if _canon(pick) != _canon(now):
            st.button(f"Read the file again as {label(pick)}", key="enc_apply", type="primary", on_click=_reread, args=(live, pick))


@state.guarded
def _reread(live: Session, encoding: str) -> None:
    """Re-read every row with ``encoding``, keeping the column mapping and default prompt."""
    opts = live.options
    try:
        ds = ingest.load_bytes(live.data(), live.name, sheet=opts.sheet, mapping=opts.mapping or None,
                               default_system=opts.default_system or None, **{**reading.load_options(opts), "encoding": encoding})
    except InputError as err:
        safe.error(f"The file could not be read as {label(encoding)}; nothing was changed.", str(err))
        return
    session.remap(live, ds, opts.but(encoding=encoding))
    st.session_state[FLASH] = f"Re-read {live.name} as {label(encoding)}: {len(ds):,} examples. Edits made before were replaced."
