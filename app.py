"""Fine-tune prep: spreadsheets of examples → chat fine-tuning JSONL, in the browser.

    streamlit run app.py

Pages live in ``pages/``; each reads the workspace (``ui/state.py``), calls the core in
``validators/`` and renders.  Each page first calls
``ui.entry.through_app()`` (its docstring says why).  The sidebar summary is drawn here so every page has it.
"""

from __future__ import annotations

import streamlit as st

from ui import sidebar, state

st.set_page_config(page_title="Fine-tune prep", page_icon="🧰", layout="wide")

PAGES = [
    st.Page("pages/upload.py", title="Upload", url_path="upload", icon=":material/upload_file:"),
    st.Page("pages/validate.py", title="Validate", url_path="validate", icon=":material/fact_check:"),
    st.Page("pages/tokens.py", title="Tokens", url_path="tokens", icon=":material/bar_chart:"),
    st.Page("pages/cost.py", title="Cost", url_path="cost", icon=":material/payments:"),
    st.Page("pages/duplicates.py", title="Duplicates", url_path="duplicates", icon=":material/content_copy:"),
    st.Page("pages/export.py", title="Export", url_path="export", icon=":material/download:"),
]


def _start() -> None:
    """The app root: go to Upload, so the start page has its own ``/upload`` URL (a default
    page would be served at ``/`` only, and ``/upload`` would say "Page not found")."""
    wid = state.ws_id()
    st.switch_page(PAGES[0], query_params={"ws": wid} if wid else None)


START = st.Page(_start, title="Start", url_path="start", default=True, visibility="hidden")


page = st.navigation([START, *PAGES])
state.ws_id()  # put the workspace id back into the URL after a page switch
state.pending_problem()
state.plainly(page.run)
state.plainly(sidebar.render)  # after the page, so the summary already includes this run's edits
