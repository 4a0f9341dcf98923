"""Showing text that came from a user's file without letting it become markup.

Streamlit renders Markdown in ``st.markdown``, ``st.error``, ``st.caption``, labels, …
A cell holding ``![x](https://evil)`` or ``[click](javascript:…)`` must never become an
image or a link, so user text goes through ``st.text`` / ``st.code`` / dataframes, and
``md_escape`` exists for the rare place where it must sit inside Markdown.
"""

from __future__ import annotations

import re

import streamlit as st

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:/=&\"'$@%^])")


def md_escape(text: str) -> str:
    """Backslash-escape every ASCII punctuation Markdown (or an autolink) could act on."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def error(title: str, detail: str) -> None:
    """A constant headline as an error box, the user-derived detail as plain text below."""
    st.error(title, icon=":material/error:")
    st.text(detail)
