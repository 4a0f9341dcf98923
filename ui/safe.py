"""Showing text that came from a user's file without letting it become markup.

Streamlit renders Markdown in ``st.markdown``, ``st.error``, ``st.caption``, labels, …
A cell holding ``![x](https://evil)`` or ``[click](javascript:…)`` must never become an
image or a link, so user text goes through ``st.text`` / ``st.code`` / dataframes.
"""

from __future__ import annotations

import streamlit as st


def error(title: str, detail: str) -> None:
    """A constant headline as an error box, the user-derived detail as plain text below."""
    st.error(title, icon=":material/error:")
    st.text(detail)
