"""The duplicate choice made on the Duplicates page, shared with the Export page so the
two pages agree.  The examples left out there carry :data:`DUP_REASON`, so the choice
also survives a new session (the workspace keeps the left-out examples)."""

from __future__ import annotations

DUP_REASON = "duplicate of example"
DUP_CHOICE = "dup_choice"  # session key: "keep_one" or "keep_all", set when the Duplicates page applies a choice
