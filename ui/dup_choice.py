"""The duplicate choice made on the Duplicates page, shared with the Export page so the
two pages agree.  The examples left out there carry :data:`DUP_CODE` (``Example.dropped_code``,
what pages decide by) and :data:`DUP_REASON` (the start of the sentence people read), so the
choice also survives a new session (the workspace keeps the left-out examples)."""

from __future__ import annotations

from validators.codes import LeftOut

DUP_CODE = LeftOut.DUPLICATE.value
DUP_REASON = "duplicate of example"
DUP_CHOICE = "dup_choice"  # session key: "keep_one" or "keep_all", set when the Duplicates page applies a choice
