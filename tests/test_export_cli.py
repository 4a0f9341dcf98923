"""Export accounting and the command line, run as a user would run it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from validators.checking import checks, semantic
from validators.exporting import export
from validators.reading import ingest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"


def cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "validators", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_check_json_on_the_support_desk_sample():
    out = cli("check", str(SAMPLES / "support_desk.csv"), "--json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["examples"] == 61
    errs = {(e["code"], e["row"]) for e in data["errors"]}
    assert ("empty_content", 5) in errs and ("empty_row", 32) in errs
    assert data["tokens"]["encoding"] == "o200k_base" and len(data["tokens"]["per_example"]) == 61
    assert data["epochs"] == 3 and data["charged_tokens"] == 3 * data["tokens"]["billing"]
    assert [10, 11] in [[e for e in g] for g in data["duplicates"]["exact"]] or data["duplicates"]["exact"]


def test_check_exit_codes_and_plain_errors(tmp_path):
    assert cli("check", str(tmp_path / "missing.csv")).returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nx,y\n")
    out = cli("check", str(bad))
    assert out.returncode == 2 and "assistant" in out.stderr and "Traceback" not in out.stderr
    out = cli("check", str(SAMPLES / "support_desk.csv"), "--map", "user=Nope")
    assert out.returncode == 2 and "'Nope'" in out.stderr
    out = cli("check", str(SAMPLES / "support_desk.csv"), "--bogus")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    out = cli("check", str(SAMPLES / "support_desk.csv"), "--model", "gpt-9")
    assert out.returncode == 2 and "Known models" in out.stderr


def test_check_clean_file_exits_zero(tmp_path):
    path = tmp_path / "clean.jsonl"
    lines = [{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": f"Question number {i} about tents?"}, {"role": "assistant", "content": f"Answer {i}: pitch it on flat ground {i * 7} metres from water."}]} for i in range(12)]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = cli("check", str(path), "--model", "gpt-3.5-turbo-0125")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cl100k_base" in out.stdout


def test_export_accounts_for_every_row_and_reexports_clean(tmp_path):
    out_path = tmp_path / "train.jsonl"
    out = cli("export", str(SAMPLES / "support_desk.csv"), "--to", "openai", "-o", str(out_path), "--validation-split", "0.1", "--dedupe", "exact", "--system", "You are Ada.")
    assert out.returncode == 1 and "left out" in out.stderr, out.stderr  # errors were found and left out
    train = out_path.read_bytes()
    assert not train.startswith(b"\xef\xbb\xbf") and "\\u" not in train.decode() and "–" in train.decode()
    val = (tmp_path / "train.validation.jsonl").read_text().splitlines()
    report = list(csv.DictReader(io.StringIO((tmp_path / "train.left-out.csv").read_text())))
    assert {r["row"] for r in report} >= {"5", "32", "11"}
    assert any("duplicate of example 9" in r["reason"] for r in report)
    assert len(train.decode().splitlines()) + len(val) + len(report) == 61
    recheck = cli("check", str(out_path), "--json")
    assert json.loads(recheck.stdout)["errors"] == []


def test_report_path_option_and_formula_neutralised(tmp_path):
    report = tmp_path / "why.csv"
    cli("export", str(SAMPLES / "tool_calls.jsonl"), "--to", "azure", "-o", str(tmp_path / "o.jsonl"), "--report", str(report))
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert rows[0] == ["row", "reason"] and len(rows) == 1 + 6
    dangerous = tmp_path / "formula.csv"
    dangerous.write_text("question,answer\n" + "".join(f"q{i},a{i}\n" for i in range(10)) + "\"=cmd()\",\n")
    cli("export", str(dangerous), "-o", str(tmp_path / "f.jsonl"))
    lines = list(csv.reader(io.StringIO((tmp_path / "f.left-out.csv").read_text())))
    assert [r[0] for r in lines[1:]] == ["12"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in lines for cell in row)


def test_validation_split_keeps_duplicate_groups_together():
    lines = [json.dumps({"messages": [{"role": "user", "content": f"q{i % 10}"}, {"role": "assistant", "content": f"answer {i % 10}"}]}) for i in range(40)]
    ds = ingest.load_bytes("\n".join(lines).encode(), "d.jsonl")
    result = checks.run(ds.examples)
    assert len(result.dupes.exact) == 10
    out = export.build(result, "openai", validation_split=0.25, source_rows=ds.source_rows)
    train_keys = {e.record["messages"][0]["content"] for e in out.train_examples}
    val_keys = {e.record["messages"][0]["content"] for e in out.validation_examples}
    assert val_keys and not (train_keys & val_keys)
    assert len(out.train_examples) + len(out.validation_examples) == 40


def test_accounting_error_is_raised_when_a_row_goes_missing():
    ds = ingest.load_bytes(b"question,answer\n1,2\n3,4\n", "x.csv")
    result = checks.run(ds.examples)
    with pytest.raises(export.AccountingError):
        export.build(result, "openai", source_rows=ds.source_rows + (99,))


def test_export_prints_a_next_step_that_compiles(tmp_path):
    out = tmp_path / "o.jsonl"
    r = cli("export", str(SAMPLES / "support_desk.csv"), "--to", "trl", "-o", str(out), "--base-model", "my-org/tiny")
    step = r.stdout.split("Next step, to start training on this file:", 1)[1]
    assert str(out) in step and "'my-org/tiny'" in step
    compile(step, "next_step.py", "exec")
    quiet = cli("export", str(SAMPLES / "support_desk.csv"), "--to", "openai", "-o", str(out), "--quiet")
    assert "Next step" not in quiet.stdout


def test_left_out_rows_are_grouped_by_code_not_by_wording(tmp_path):
    """The Export page's summary of left-out rows groups them by code: duplicates are counted
    as duplicates whatever the sentence says, and each error kind keeps the user's own words."""
    rows = ["question,answer", "What is the refund window?,30 days.", "What is the refund window?,30 days.",
            "Where is my parcel?,", "Can I pay by card?,", "How do I reset it?,Hold the button."]
    p = tmp_path / "faq.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = ingest.load_file(p)
    res = checks.run(ds.examples, columns=semantic.column_names(ds.mapping))
    out = export.build(res, "openai", dedupe="exact")
    by_code = {k.code: k for k in out.kinds}
    assert by_code["duplicate"].rows == 1 and out.duplicates_left_out == 1
    assert by_code["empty_content"].rows == 2 and by_code["empty_content"].label == "answer is empty"
    assert sum(k.rows for k in out.kinds) == len(out.left_out) == 3
