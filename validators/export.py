"""Write the export and the report of what was left out.

Examples with errors are never written as they are: they are left out and listed, one
line per source row, with the reason.  The accounting is checked before anything is
returned: source rows = rows exported + rows reported, always.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import codes
from . import targets as targets_mod
from .checks import CheckResult
from .csv_safe import to_csv
from .model import Example
from .readers import MAX_FILE_BYTES

DEDUPE_MODES = ("none", "exact", "near")


class AccountingError(AssertionError):
    """A source row is neither exported nor reported: a bug, never silently ignored."""


@dataclass
class ExportResult:
    target: str
    train: bytes
    validation: bytes | None
    report: bytes  # CSV: row,reason
    train_examples: list[Example]
    validation_examples: list[Example]
    left_out: list[tuple[int, str]]  # (source row, reason)
    problems: list[str] = field(default_factory=list)  # file-level rules of the target not met

    @property
    def exported_rows(self) -> int:
        return sum(len(e.rows) for e in self.train_examples + self.validation_examples)

    def summary(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "train_examples": len(self.train_examples),
            "validation_examples": len(self.validation_examples),
            "rows_exported": self.exported_rows,
            "rows_left_out": len(self.left_out),
            "problems": self.problems,
        }


def dumps_line(obj: Any) -> str:
    """One JSONL line: compact, characters written as themselves (no \\u escapes)."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


def apply_dedupe(result: CheckResult, mode: str) -> list[Example]:
    """Mark every non-first member of each duplicate group as left out."""
    if mode not in DEDUPE_MODES:
        raise ValueError(f"dedupe must be one of {DEDUPE_MODES}")
    groups = [] if mode == "none" else result.dupes.exact + (result.dupes.near if mode == "near" else [])
    by_index = {e.index: e for e in result.examples}
    reason: dict[int, str] = {}
    for g in groups:
        first = by_index[g[0]]
        for other in g[1:]:
            reason.setdefault(other, f"duplicate of example {first.index} (row {first.row})")
    dup = codes.LeftOut.DUPLICATE.value
    return [replace(e, dropped=reason[e.index], dropped_code=dup) if e.index in reason and not e.dropped else e for e in result.examples]


def split(examples: list[Example], fraction: float, groups: list[list[int]], seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Deterministic train/validation split; members of a duplicate group stay together."""
    if fraction <= 0 or len(examples) < 2:
        return list(examples), []
    if fraction >= 1:
        raise ValueError("validation split must be below 1")
    present = {e.index for e in examples}
    unit_of: dict[int, int] = {}
    for gid, g in enumerate(groups):
        for i in g:
            if i in present:
                unit_of[i] = gid
    units: dict[object, list[Example]] = {}
    for e in examples:
        units.setdefault(("g", unit_of[e.index]) if e.index in unit_of else ("e", e.index), []).append(e)
    keys = list(units)
    random.Random(seed).shuffle(keys)
    want = max(1, round(len(examples) * fraction))
    val_ids: set[int] = set()
    for k in keys:
        if len(val_ids) >= want:
            break
        if len(val_ids) + len(units[k]) <= want or not val_ids:
            val_ids.update(e.index for e in units[k])
    train = [e for e in examples if e.index not in val_ids]
    val = [e for e in examples if e.index in val_ids]
    return train, val


def build(
    result: CheckResult,
    target: str = "openai",
    validation_split: float = 0.0,
    dedupe: str = "none",
    seed: int = 0,
    source_rows: tuple[int, ...] | None = None,
) -> ExportResult:
    """Decide what goes out, render it for ``target``, and account for every source row."""
    tgt = targets_mod.get(target)
    examples = apply_dedupe(result, dedupe)
    errors: dict[int, list[str]] = {}
    for f in result.errors:
        if f.example is not None:
            errors.setdefault(f.example, []).append(f.message)
    keep: list[Example] = []
    left_out: list[tuple[int, str]] = []
    for ex in examples:
        reason = ex.dropped or ("; ".join(errors[ex.index][:3]) if ex.index in errors else None)
        if reason is None and ex.record is None:
            reason = ex.problem or "could not be read"
        if reason is None:
            keep.append(ex)
        else:
            left_out.extend((row, reason) for row in ex.rows)
    groups = result.dupes.exact + result.dupes.near
    train, val = split(keep, validation_split, groups, seed)
    problems = tgt.rules(keep)
    if len(train) < tgt.min_examples:
        problems.append(f"{tgt.label} needs at least {tgt.min_examples} training examples; this export has {len(train)}.")
    train_bytes = render(train, tgt)
    val_bytes = render(val, tgt) if val else None
    if len(train_bytes) > MAX_FILE_BYTES:
        problems.append(f"The training file is {len(train_bytes) / 1e6:.0f} MB; the limit is 512 MB. Split the data.")
    left_out.sort()
    report = to_csv(["row", "reason"], left_out)
    out = ExportResult(tgt.name, train_bytes, val_bytes, report, train, val, left_out, problems)
    account(out, source_rows if source_rows is not None else tuple(r for e in result.examples for r in e.rows))
    return out


def render(examples: list[Example], target: targets_mod.Target) -> bytes:
    """The JSONL bytes for ``examples``: UTF-8 without BOM, one object per line."""
    lines = [dumps_line(target.render(e)) for e in examples]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def account(out: ExportResult, source_rows: tuple[int, ...]) -> None:
    exported = [r for e in out.train_examples + out.validation_examples for r in e.rows]
    reported = [r for r, _ in out.left_out]
    if sorted(exported + reported) != sorted(source_rows):
        missing = sorted(set(source_rows) - set(exported) - set(reported))[:10]
        raise AccountingError(f"rows not accounted for: {missing}")


def write(out: ExportResult, path: str | Path, report_path: str | Path | None = None) -> dict[str, str]:
    """Write the train file (and ``*.validation.jsonl`` and the left-out report) to disk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.train)
    files = {"train": str(path)}
    if out.validation is not None:
        vpath = path.with_name(path.stem + ".validation" + path.suffix)
        vpath.write_bytes(out.validation)
        files["validation"] = str(vpath)
    rpath = Path(report_path) if report_path else path.with_name(path.stem + ".left-out.csv")
    rpath.write_bytes(out.report)
    files["report"] = str(rpath)
    return files
