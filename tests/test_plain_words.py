"""Findings on examples read from a table name the user's own columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from validators.checking import checks, semantic
from validators.reading import ingest

ROOT = Path(__file__).resolve().parent.parent
ROWS = "".join(f"Question number {i}?,Answer number {i} is here.\n" for i in range(12))


def test_findings_name_the_users_columns() -> None:
    data = ("Questions,Answers\nWhere is my parcel?,\n  Padded question ,Fine answer\n" + ROWS).encode("utf-8")
    ds = ingest.load_bytes(data, "faq.csv", mapping={"user": "Questions", "assistant": "Answers"})
    res = checks.check_dataset(ds)
    empty = next(f for f in res.findings if f.code == "empty_content")
    assert empty.message == "Example 1 (row 2), message 2: Answers is empty. Write the assistant's reply or drop the example."
    assert empty.key == "content" and empty.message_index == 2  # programs still get the JSON key
    spaces = next(f for f in res.findings if f.code == "surrounding_whitespace")
    assert spaces.message.startswith("Example 2 (row 3), message 1: Questions starts or ends with spaces")
    assert not any("`content`" in f.message for f in res.findings)


def test_long_format_names_the_text_column_and_json_keeps_keys() -> None:
    assert semantic.column_names({"conversation": "dialogue_id", "role": "participant", "content": "utterance"}) == {
        "system": "utterance", "user": "utterance", "assistant": "utterance"}
    assert semantic.column_names({"user": "prompt", "chosen": "good", "rejected": "bad"}) == {
        "user": "prompt", "preferred_output": "good", "non_preferred_output": "bad"}
    assert semantic.column_names({"default_system": "Be brief."}) == {}


def test_cli_says_the_same(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\nWhere is my parcel?,\n" + ROWS, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "validators", "check", str(path), "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    doc = json.loads(out.stdout)
    messages = [f["message"] for f in doc["errors"]]
    assert "Example 1 (row 2), message 2: answer is empty. Write the assistant's reply or drop the example." in messages
