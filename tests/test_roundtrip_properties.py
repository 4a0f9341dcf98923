"""Property tests: nothing is lost or changed between the user's file and the export.

Generated conversations with hard text (right-to-left scripts, emoji ZWJ sequences,
combining marks, tabs and newlines inside cells, quotes, commas, leading formula signs,
very long fields) are written as CSV / TSV / XLSX / JSONL, loaded with ``ingest.load_bytes``,
checked, exported for OpenAI and read back: every character must survive.  A second family
checks the accounting: every source row is exported or listed in the left-out report with
a reason, never both, never neither.

``ROUNDTRIP_EXAMPLES`` (default 20 per test, < 60 s for the file) raises the number of
generated cases for a longer local run, e.g. ``ROUNDTRIP_EXAMPLES=500 pytest tests/test_roundtrip_properties.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validators.checking import checks
from validators.exporting import export
from validators.reading import ingest

SETTINGS = settings(
    max_examples=int(os.environ.get("ROUNDTRIP_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HARD_PIECES = [
    "שלום עולם", "مرحبا بالعالم", "\u200fRTL mark", "👩\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "👍🏽",
    "e\u0301", "n\u0303o", "Z\u0351\u0352\u0353", "\t", "\n", "\r\n", '"', '""', ",", ";", "|", "'",
    "=SUM(A1:A2)", "+1", "-1", "@cmd", "ß", "İ", "ﬁ", "日本語", "한국어", "\u00a0", "\u2028", "\\", "{}", "[", "<script>",
]
piece = st.one_of(st.sampled_from(HARD_PIECES), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))
cell_text = st.lists(piece, min_size=1, max_size=8).map("".join).filter(lambda s: s.strip() != "")
long_text = st.tuples(cell_text, st.integers(2_000, 6_000)).map(lambda t: (t[0] * (t[1] // max(len(t[0]), 1) + 1))[: t[1]]).filter(lambda s: s.strip() != "")
field = st.one_of(cell_text, cell_text, cell_text, long_text)
pairs = st.lists(st.tuples(field, field), min_size=1, max_size=12)


# ------------------------------------------------------------------ writers (the user's side)


def write_delimited(rows: list[tuple[str, str]], delimiter: str) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(["question", "answer"])
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_xlsx(rows: list[tuple[str, str]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, values in enumerate([("question", "answer"), *rows], start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            cell.data_type = "s"  # a typed string, as Excel keeps "=..." text entered with a quote
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_jsonl(rows: list[tuple[str, str]]) -> bytes:
    lines = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}, ensure_ascii=False) for q, a in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_safe(s: str) -> str:
    """XML cannot hold C0 controls, and XML parsers turn CR into LF: Excel itself stores them
    escaped (``_x000D_``), so the generated workbook leaves them out."""
    return "".join(ch for ch in s.replace("\r\n", "\n").replace("\r", "\n") if ch in "\t\n" or ord(ch) >= 32)


# ------------------------------------------------------------------ the round trip


def exported_pairs(data: bytes, name: str, dedupe: str = "none") -> tuple[list[tuple[str, str]], export.ExportResult]:
    ds = ingest.load_bytes(data, name)
    result = checks.check_dataset(ds, near=False)
    out = export.build(result, "openai", 0.0, dedupe, 0, ds.source_rows)
    text = out.train.decode("utf-8")
    assert not out.train.startswith(b"\xef\xbb\xbf")
    records = [json.loads(line) for line in text.split("\n") if line]
    got = [(r["messages"][-2]["content"], r["messages"][-1]["content"]) for r in records]
    return got, out


@SETTINGS
@given(pairs)
def test_csv_roundtrip(rows: list[tuple[str, str]]) -> None:
    got, out = exported_pairs(write_delimited(rows, ","), "data.csv")
    assert got == rows and out.left_out == []


@SETTINGS
@given(pairs)
def test_tsv_roundtrip(rows: list[tuple[str, str]]) -> None:
    got, out = exported_pairs(write_delimited(rows, "\t"), "data.tsv")
    assert got == rows and out.left_out == []


@SETTINGS
@given(pairs)
def test_xlsx_roundtrip(rows: list[tuple[str, str]]) -> None:
    rows = [(xlsx_safe(q), xlsx_safe(a)) for q, a in rows]
    rows = [(q, a) for q, a in rows if q.strip() and a.strip()] or [("q", "a")]
    got, out = exported_pairs(write_xlsx(rows), "data.xlsx")
    assert got == rows and out.left_out == []


@SETTINGS
@given(pairs)
def test_jsonl_roundtrip(rows: list[tuple[str, str]]) -> None:
    got, out = exported_pairs(write_jsonl(rows), "data.jsonl")
    assert got == rows and out.left_out == []


# ------------------------------------------------------------------ accounting


def report_rows(out: export.ExportResult) -> list[tuple[int, str]]:
    parsed = list(csv.reader(io.StringIO(out.report.decode("utf-8"), newline="")))
    assert parsed[0] == ["row", "reason"]
    return [(int(r), reason) for r, reason in parsed[1:]]


def assert_accounted(out: export.ExportResult, source_rows: list[int]) -> dict[int, str]:
    """Exported rows and reported rows are disjoint and together are exactly the source rows."""
    exported = [r for e in out.train_examples + out.validation_examples for r in e.rows]
    reported = report_rows(out)
    assert len(exported) == len(set(exported))
    assert len(reported) == len({r for r, _ in reported})
    assert not set(exported) & {r for r, _ in reported}
    assert sorted(exported + [r for r, _ in reported]) == sorted(source_rows)
    assert all(reason.strip() for _, reason in reported)
    lines = [line for line in out.train.decode("utf-8").split("\n") if line]
    assert len(lines) == len(out.train_examples)
    return dict(reported)


row_kind = st.sampled_from(["good", "good", "good", "blank", "dup", "bad"])


@SETTINGS
@given(st.lists(st.tuples(row_kind, cell_text, cell_text), min_size=1, max_size=25), st.sampled_from(["none", "exact"]), st.sampled_from([0.0, 0.3]))
def test_jsonl_every_line_accounted(plan: list[tuple[str, str, str]], dedupe: str, split: float) -> None:
    lines: list[str] = []
    expect: dict[int, str] = {}
    seen: list[str] = []
    for kind, q, a in plan:
        no = len(lines) + 1
        if kind == "blank":
            lines.append("   ")
            expect[no] = "blank"
        elif kind == "bad":
            lines.append('{"messages": [ {"role": "user", "content": "' + json.dumps(q)[1:-1][:5])  # cut short
            expect[no] = "invalid JSON"
        else:
            line = seen[-1] if kind == "dup" and seen else json.dumps({"messages": [{"role": "user", "content": q + " unique"}, {"role": "assistant", "content": a}]}, ensure_ascii=False)
            if kind == "dup" and seen and dedupe == "exact":
                expect[no] = "duplicate"
            seen.append(line)
            lines.append(line)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if not any(json_ok(line) for line in lines):
        return  # nothing readable: a plain InputError, covered by the bad-input corpus
    ds = ingest.load_bytes(data, "data.jsonl")
    result = checks.check_dataset(ds, near=False)
    out = export.build(result, "openai", split, dedupe, 0, ds.source_rows)
    reported = assert_accounted(out, list(range(1, len(lines) + 1)))
    for no, why in expect.items():
        assert why.lower() in reported[no].lower(), (no, reported[no])


def json_ok(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["good", "good", "blank", "dup"]), cell_text, cell_text), min_size=1, max_size=25), st.sampled_from(["none", "exact", "near"]))
def test_csv_every_row_accounted(plan: list[tuple[str, str, str]], dedupe: str) -> None:
    rows: list[tuple[str, str]] = []
    for kind, q, a in plan:
        if kind == "blank":
            rows.append(("", ""))
        elif kind == "dup" and any(r[0] for r in rows):
            rows.append(next(r for r in reversed(rows) if r[0]))
        else:
            rows.append((q, a))
    if not any(q for q, _ in rows):
        return
    data = write_delimited(rows, ",")
    ds = ingest.load_bytes(data, "data.csv")
    result = checks.check_dataset(ds)
    out = export.build(result, "openai", 0.0, dedupe, 0, ds.source_rows)
    reported = assert_accounted(out, list(range(2, len(rows) + 2)))
    for i, (q, _a) in enumerate(rows, start=2):
        if not q:
            assert "empty" in reported[i]


def test_accounting_example_by_hand() -> None:
    """A fixed case, so a failure here reads without hypothesis: 6 rows, 1 blank, 1 duplicate."""
    rows: list[tuple[str, Any]] = [("q1", "a1"), ("", ""), ("q2", "a2"), ("q1", "a1"), ("q3", "a3"), ("q4", "a4")]
    data = write_delimited(rows, ",")
    ds = ingest.load_bytes(data, "data.csv")
    out = export.build(checks.check_dataset(ds), "openai", 0.0, "exact", 0, ds.source_rows)
    reported = assert_accounted(out, [2, 3, 4, 5, 6, 7])
    assert sorted(reported) == [3, 5] and "empty" in reported[3] and "duplicate of example 1 (row 2)" in reported[5]
