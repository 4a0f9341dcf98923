"""Pass/fail of one dataset against every export target's rules at once."""

from __future__ import annotations

from typing import Any

from ..checking.checks import CheckResult
from . import export, targets


def target_matrix(result: CheckResult, names: list[str] | None = None) -> dict[str, Any]:
    """For each target: does an export pass its rules, and what does a failure need."""
    rows = []
    for name in names or list(targets.TARGETS):
        out = export.build(result, name)
        needs = list(out.problems)
        if out.left_out:
            needs.append(f"{len(out.left_out)} source row(s) would be left out (see Validate)")
        rows.append({"target": name, "label": targets.TARGETS[name].label, "pass": not out.problems, "needs": needs, "examples": len(out.train_examples),
                     **targets.facts(name)})
    return {"rows": rows}
