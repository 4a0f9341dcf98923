"""The summary every page shows in the sidebar, and the workspace controls."""

from __future__ import annotations

import weakref
from typing import Any

import streamlit as st

from ui import state
from validators import session
from validators.session import Session

# Per workspace: (check result, version, figures).  Every page's every run draws the sidebar,
# and counting 100,000 examples three times took ~50 ms of each run: kept until the result changes.
_FIGURES: weakref.WeakKeyDictionary[Session, tuple[Any, int, dict[str, object]]] = weakref.WeakKeyDictionary()


def summary_numbers(live: Session) -> dict[str, object]:
    """The sidebar's figures, from the cached check result (counted once per result)."""
    res = state.result(live)
    held = _FIGURES.get(live)
    if held is not None and held[0] is res and held[1] == live.version:
        return held[2]
    numbers = _count(res, state.usable_mask(live, res))  # the mask is the Cost page's too
    _FIGURES[live] = (res, live.version, numbers)
    return numbers


def _count(res: Any, mask: Any) -> dict[str, object]:
    left_out = sum(1 for e in res.examples if e.dropped)
    return {
        "examples": len(res.examples) - left_out,
        "left_out": left_out,
        "errors": len(res.errors),
        "warnings": len(res.warnings),
        "tokens": int(res.counts.total[mask].sum()),
        "cost": res.estimate.cost_usd,
        "duplicates": res.dupes.extra_examples(),
        "model": res.model.name,
    }


def render() -> None:
    """Summary metrics, then "New workspace", the session's workspaces and delete."""
    live = state.current()
    with st.sidebar:
        if live is None:
            st.caption("No workspace open yet.")
        else:
            _summary(live)
        _controls(live)


def _summary(live: Session) -> None:
    st.subheader("Summary")
    st.text(f"File: {live.name}")
    if live.checking():  # a large upload's first check, running in the background (pages/upload.py)
        st.caption(f"Checking {len(live.examples):,} examples… the figures show here when it is done.")
        return
    n = summary_numbers(live)
    a, b = st.columns(2)
    a.metric("Examples", f"{n['examples']:,}", help="Examples that will be exported unless they have errors")
    b.metric("Errors", f"{n['errors']:,}")
    a.metric("Warnings", f"{n['warnings']:,}")
    b.metric("Duplicates", f"{n['duplicates']:,}", help="Extra copies beyond the first of each group")
    a.metric("Total tokens", f"{n['tokens']:,}")
    b.metric("Est. cost", f"${n['cost']:,.2f}")
    st.caption(f"Model: {n['model']}")
    if n["left_out"]:
        st.caption(f"{n['left_out']:,} example(s) left out by fixes.")
    if live.stale:
        st.caption("Duplicates and conflicting answers refresh on the Duplicates and Export pages.")


def _controls(live: Session | None) -> None:
    st.divider()
    if st.button("New workspace", key="sb_new", width="stretch", help="Start again with another file; this one stays saved at its URL"):
        state.leave()
        st.switch_page("pages/upload.py")
    st.caption(session.retention_note())
    mine = [w for w in st.session_state.get(state.MINE, []) if live is None or w != live.id]
    if mine:
        rows = session.list_workspaces(mine)
        if rows:
            labels = {r["id"]: f"{r['name']} ({r['examples']:,} examples)" for r in rows}
            pick = st.selectbox("Your other workspaces", [None, *labels], format_func=lambda w: "—" if w is None else labels[w], key="sb_pick")
            if pick:
                state.adopt(pick)
                st.rerun()
    if live is not None:
        with st.expander("Delete this workspace"):
            st.caption("Removes the uploaded file, every edit and the undo history from this server.")
            sure = st.checkbox("Yes, delete it for good", key="sb_sure")
            if st.button("Delete workspace", key="sb_delete", disabled=not sure, type="secondary"):
                state.forget(live.id)
                st.switch_page("pages/upload.py")
