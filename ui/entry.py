"""Make sure every page is served through ``app.py``'s ``st.navigation``.

The design keeps the pages in a top-level ``pages/`` folder.  Streamlit still reads such a
folder as its legacy automatic multipage app until ``st.navigation`` has been called in the
server process (and ``AppTest`` resets that flag on every run), so a request for
``/validate`` can run ``pages/validate.py`` directly, without ``app.py``: no page config,
no sidebar summary, no workspace in the URL.  :func:`through_app` notices that, turns the
legacy mode off and runs ``app.py`` in place; its ``st.navigation`` resolves the same URL to
this same page, which then runs normally.  No rerun, so a click that started this run is
not lost.

Why this module exists (the one place that says so): nothing cleaner does the job.  The
design keeps ``pages/`` at the top next to ``app.py``; Streamlit (1.67) has no setting that
turns the legacy folder mode off, it decides it from the folder's existence when the first
session starts; and a page already running in that mode has skipped ``app.py``, so the page
itself must notice and run ``app.py``.  Renaming the folder would drop the design's layout.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parent.parent / "app.py"


def through_app() -> None:
    """Called at the top of every page: serve this run through ``app.py`` if it was skipped."""
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(APP), run_name="__streamlit_app__")
    st.stop()
