"""Core pipeline for chat fine-tuning data: ingest → checks → fixes → export.

Plain Python (no Streamlit import) so the CLI, the tests and the browser app share it.
"""

__version__ = "0.1.0"
