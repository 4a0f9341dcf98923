"""The export of a streamed check: a second pass over the file, written line by line.

The decisions are export.build's, taken over per-example arrays instead of lists of
examples: duplicates left out (``--dedupe``), examples with errors left out with their
first three error messages, the validation split (same units, same shuffle), the target's
file-level rules (run on the few examples that break one, kept in the index), and the
left-out report sorted by row on disk.  Every source row is checked to be exported or
reported before the files are moved into place.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from ..exporting import targets as targets_mod
from ..exporting.csv_safe import to_csv
from ..exporting.export import AccountingError, render
from ..model import Example
from ..reading import parquet_io
from ..reading.readers import MAX_FILE_BYTES
from .stream import ORIGIN, StreamResult, examples, open_reader
from .stream_index import Index


@dataclass
class StreamExport:
    target: str
    files: dict[str, str]
    train: int
    validation: int
    rows_exported: int
    rows_left_out: int
    problems: list[str]
    kinds: list[Example]  # one example of each kind exported (for the next step)

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "train_examples": self.train, "validation_examples": self.validation,
                "rows_exported": self.rows_exported, "rows_left_out": self.rows_left_out, "problems": self.problems}


def _dedupe_firsts(result: StreamResult, mode: str) -> dict[int, int]:
    """first[i] = the example that example i duplicates (absent: none), as
    export.apply_dedupe: as many entries as duplicates left out, not one per example."""
    first: dict[int, int] = {}
    groups = [] if mode == "none" else result.exact + (result.near if mode == "near" else [])
    for g in groups:
        for other in g[1:]:
            first.setdefault(other, g[0])
    return first


def _keep_mask(result: StreamResult, first: dict[int, int]) -> np.ndarray:
    """keep[i - 1]: example i is exported (counted, no error, not a duplicate left out).
    Only a validation split needs it for the whole file at once (one byte an example)."""
    keep = np.zeros(result.n, dtype=bool)
    for start, (counted,) in result.columns.slices("counted"):
        keep[start : start + counted.size] = counted
    for (ex,) in result.index.db.execute("SELECT DISTINCT ex FROM findings WHERE sev = 0 AND ex > 0"):
        keep[ex - 1] = False
    for ex in first:
        keep[ex - 1] = False
    return keep


def split_mask(keep: np.ndarray, fraction: float, groups: list[list[int]], seed: int) -> np.ndarray:
    """export.split over a mask: True for the examples that go to the validation file.
    Same units (duplicate groups stay together), same shuffle, same choice."""
    val = np.zeros_like(keep)
    kept = np.flatnonzero(keep)  # positions (example - 1) in file order
    if fraction <= 0 or kept.size < 2:
        return val
    unit_of = np.full(keep.size, -1, dtype=np.int64)
    for gid, g in enumerate(groups):
        pos = np.asarray(g, dtype=np.int64) - 1
        pos = pos[keep[pos]]
        unit_of[pos] = gid
    codes = np.where(unit_of[kept] >= 0, unit_of[kept], len(groups) + kept)
    uniq, first_at, sizes = np.unique(codes, return_index=True, return_counts=True)
    order = np.argsort(first_at, kind="stable")
    units, sizes = uniq[order], sizes[order]
    perm = np.arange(units.size)
    randbelow = random.Random(seed)._randbelow  # random.shuffle's own steps, on an index array
    for i in range(units.size - 1, 0, -1):
        j = randbelow(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    want = max(1, round(kept.size * fraction))
    chosen, count = [], 0
    for u in perm.tolist():
        if count >= want:
            break
        if count + sizes[u] <= want or not count:
            chosen.append(units[u])
            count += int(sizes[u])
    val[kept[np.isin(codes, np.asarray(chosen, dtype=np.int64))]] = True
    return val


class _Stored:
    """Examples read back from the index, each time they are iterated (for target rules)."""

    def __init__(self, index: Index, extra: list[Example], origin: str) -> None:
        self.index, self.extra, self.origin = index, extra, origin

    def _rows(self) -> Iterator[Example]:
        stored = (Example(i, (row,), json.loads(rec), kind=kind, origin=self.origin)
                  for i, row, kind, rec in self.index.db.execute("SELECT ex, row, kind, record FROM flagged ORDER BY ex"))
        seen = {e.index for e in self.extra}
        merged = sorted(chain((e for e in stored if e.index not in seen), self.extra), key=lambda e: e.index)
        return iter(merged)

    def __iter__(self) -> Iterator[Example]:
        return self._rows()

    def __len__(self) -> int:
        return sum(1 for _ in self._rows())


def export(result: StreamResult, path: str | Path, output: str | Path, target: str = "openai", validation_split: float = 0.0,
           dedupe: str = "none", seed: int = 0, report: str | Path | None = None, out_format: str = "jsonl",
           overrides: dict[str, Any] | None = None, default_system: str | None = None) -> StreamExport:
    """Write the export in a second pass over the file; every source row is exported or
    listed in the left-out report (checked before the files are moved into place)."""
    tgt = targets_mod.get(target)
    n = result.n
    first = _dedupe_firsts(result, dedupe)
    val = None  # the examples of the validation file (None: no split)
    if validation_split > 0:
        val = split_mask(_keep_mask(result, first), validation_split, result.exact + result.near, seed)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = {k: out.with_name(f".{out.name}.{k}.tmp") for k in ("train", "validation", "report")}
    try:
        stats = _write_pass(result, path, tgt, first, val, tmp, overrides, default_system)
        problems = tgt.rules(_Stored(result.index, stats["kinds"], ORIGIN.get(result.source.format, "item")))
        if stats["train"] < tgt.min_examples:
            problems.append(f"{tgt.label} needs at least {tgt.min_examples} training examples; this export has {stats['train']}.")
        if stats["train_bytes"] > MAX_FILE_BYTES:
            problems.append(f"The training file is {stats['train_bytes'] / 1e6:.0f} MB; the limit is 512 MB. Split the data.")
        left = _write_report(result.index, tmp["report"])
        if stats["rows_exported"] + left != n or stats["row_sum"] + result.index.count("SELECT coalesce(sum(row), 0) FROM leftout") != result.summary.row_sum:
            raise AccountingError("rows not accounted for in the streamed export")
        files = _place(tmp, out, report, out_format, has_validation=stats["validation"] > 0)
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)
    return StreamExport(tgt.name, files, stats["train"], stats["validation"], stats["rows_exported"], left, problems, stats["kinds"])


def _write_pass(result: StreamResult, path: str | Path, tgt: targets_mod.Target, first: dict[int, int],
                val: np.ndarray | None, tmp: dict[str, Path], overrides: dict[str, Any] | None,
                default_system: str | None) -> dict[str, Any]:
    """Each chunk's examples to the training or validation file, or to the left-out table;
    what decides is read for the chunk alone (its counted flags, its examples' errors)."""
    stats: dict[str, Any] = {"train": 0, "validation": 0, "rows_exported": 0, "row_sum": 0, "train_bytes": 0, "kinds": []}
    kinds: dict[str, Example] = {}
    _, chunks = examples(open_reader(path, result.source.format, result.options.get("header")), overrides, default_system)
    db = result.index.db
    with open(tmp["train"], "wb") as train_fh, open(tmp["validation"], "wb") as val_fh:
        for chunk in chunks:
            lo, hi = chunk[0].index, chunk[-1].index
            reasons = _error_reasons(result.index, lo, hi)  # its keys: the chunk's examples with an error
            counted = result.columns.read("counted", lo - 1, hi)
            train, valid, left = [], [], []
            for ex in chunk:
                i = ex.index
                if i in first:
                    f = first[i]
                    left += [(r, f"duplicate of example {f} (row {result.columns.row_of(f)})") for r in ex.rows]
                elif i in reasons or ex.record is None:
                    reason = reasons.get(i) or ex.problem or "could not be read"
                    left += [(r, reason) for r in ex.rows]
                elif counted[i - lo]:
                    (valid if val is not None and val[i - 1] else train).append(ex)
                    kinds.setdefault(ex.kind, ex)
            db.executemany("INSERT INTO leftout VALUES (?,?)", left)
            kept = train + valid
            if kept and tgt.rules(kept):
                db.executemany("INSERT INTO flagged VALUES (?,?,?,?)",
                               [(e.index, e.row, e.kind, json.dumps(e.record)) for e in kept if tgt.rules([e])])
            data = render(train, tgt)
            train_fh.write(data)
            val_fh.write(render(valid, tgt))
            stats["train_bytes"] += len(data)
            stats["train"] += len(train)
            stats["validation"] += len(valid)
            stats["rows_exported"] += sum(len(e.rows) for e in kept)
            stats["row_sum"] += sum(r for e in kept for r in e.rows)
            result.index.commit()
    stats["kinds"] = list(kinds.values())
    return stats


def _error_reasons(index: Index, lo: int, hi: int) -> dict[int, str]:
    """The first three error messages of each example in [lo, hi], as export.build joins them."""
    out: dict[int, list[str]] = {}
    for ex, data in index.db.execute("SELECT ex, data FROM findings WHERE sev = 0 AND ex BETWEEN ? AND ? ORDER BY ex, mi, stage, seq", (lo, hi)):
        msgs = out.setdefault(ex, [])
        if len(msgs) < 3:
            msgs.append(json.loads(data)["message"])
    return {k: "; ".join(v) for k, v in out.items()}


def _write_report(index: Index, dest: Path) -> int:
    """The left-out rows sorted by row (then reason), as export.build sorts them."""
    header = to_csv(["row", "reason"], [])
    count = 0
    with open(dest, "wb") as fh:
        fh.write(header)
        cur = index.db.execute("SELECT row, reason FROM leftout ORDER BY row, reason")
        while batch := cur.fetchmany(50_000):
            fh.write(to_csv(["row", "reason"], batch)[len(header):])
            count += len(batch)
    return count


def _place(tmp: dict[str, Path], out: Path, report: str | Path | None, out_format: str, has_validation: bool) -> dict[str, str]:
    """Move the finished files into place (converted to Parquet when asked)."""
    files: dict[str, str] = {}
    targets = {"train": out}
    if has_validation:
        targets["validation"] = out.with_name(out.stem + ".validation" + out.suffix)
    for key, dest in targets.items():
        if out_format == "parquet":
            staged = tmp[key].with_suffix(".parquet.tmp")
            parquet_io.jsonl_file_to_parquet(tmp[key], staged)
            os.replace(staged, dest)
        else:
            os.replace(tmp[key], dest)
        files[key] = str(dest)
    rpath = Path(report) if report else out.with_name(out.stem + ".left-out.csv")
    os.replace(tmp["report"], rpath)
    files["report"] = str(rpath)
    return files
