"""Core pipeline for chat fine-tuning data: ingest → checks → fixes → export.

Plain Python (no Streamlit import) so the CLI, the tests and the browser app share it.

One subpackage per step: ``reading`` → ``checking`` (``counting`` for tokens and cost) →
``exporting`` → ``submitting``; ``storing`` keeps the browser's workspaces and ``streaming``
runs the same steps on files larger than memory.  The shared vocabulary (``model``,
``errors``, ``codes``, ``catalog``) and the entry points (``cli``, ``session``) stay here.
"""

__version__ = "0.1.0"
