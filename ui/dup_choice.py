"""The duplicate choice made on the Duplicates page, shared with the Export page so the
two pages agree.  Only the session key lives here (Streamlit glue); what the choice does and
which export mode follows from it is the facade's (``Session.keep_one_per_group``,
``Session.dedupe_default``), and the examples it leaves out carry ``session.DUP_CODE``, so the
choice also survives a new session (the workspace keeps the left-out examples)."""

from __future__ import annotations

DUP_CHOICE = "dup_choice"  # session key: "keep_one" or "keep_all", set when the Duplicates page applies a choice
