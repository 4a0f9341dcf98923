"""The validation report (JSON) and the findings table (CSV) offered next to an export.

One builder for both faces: the Export page offers these files for download and
``python -m validators export --report-dir DIR`` writes them, byte for byte the same for the
same file and options (``tests/test_export_cli.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from validators.checking.checks import CheckResult
from validators.exporting.csv_safe import to_csv
from validators.exporting.export import ExportResult

FINDING_COLUMNS = ["severity", "code", "example", "row", "message_index", "key", "message"]


def validation_report(name: str, fmt: str | None, source_rows: Sequence[int], history: list[dict[str, Any]],
                      res: CheckResult, out: ExportResult) -> bytes:
    """Every finding, every change applied (``history``), before/after counts: one JSON document."""
    doc = {
        "source": {"file": name, "format": fmt, "examples_read": len(res.examples), "source_rows": len(source_rows)},
        "export": out.summary(),
        "counts": {
            "before": {"examples": len(res.examples), "rows": len(source_rows)},
            "after": {"train_examples": len(out.train_examples), "validation_examples": len(out.validation_examples),
                      "rows_exported": out.exported_rows, "rows_left_out": len(out.left_out)},
        },
        "fixes_applied": history,
        "findings": [f.to_dict() for f in res.findings],
        "left_out": [{"row": r, "reason": why} for r, why in out.left_out],
        "check": {k: v for k, v in res.to_json().items() if k not in ("errors", "warnings")},
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def findings_csv(res: CheckResult) -> bytes:
    """One row per finding; user text is made formula-safe (``csv_safe``)."""
    return to_csv(FINDING_COLUMNS, ([f.to_dict()[c] for c in FINDING_COLUMNS] for f in res.findings))


def file_names(source_name: str) -> tuple[str, str]:
    """(validation report, findings CSV): the names the page downloads and the CLI writes."""
    stem = Path(source_name).stem or "examples"
    return f"{stem}.validation-report.json", f"{stem}.findings.csv"


def write(folder: str | Path, source_name: str, report_bytes: bytes, findings_bytes: bytes) -> dict[str, str]:
    """Write both files into ``folder`` (created if missing); returns their paths."""
    where = Path(folder)
    where.mkdir(parents=True, exist_ok=True)
    rep, fnd = (where / n for n in file_names(source_name))
    rep.write_bytes(report_bytes)
    fnd.write_bytes(findings_bytes)
    return {"validation_report": str(rep), "findings": str(fnd)}
