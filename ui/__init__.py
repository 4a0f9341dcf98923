"""Streamlit helpers shared by the pages (state, sidebar, safe text)."""
