"""Mojibake and control characters: found per example, repaired in one click, undone;
Excel's _xHHHH_ escapes decoded when a workbook is read."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from validators.checking import fixes, mojibake, semantic
from validators.model import Example
from validators.reading import ingest
from validators.reading.readers import unescape_excel

ROOT = Path(__file__).resolve().parent.parent


def ex(i: int, user: str, reply: str) -> Example:
    return Example(i, (i + 1,), {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]})


def test_mojibake_is_flagged_per_message_and_repaired() -> None:
    examples = [ex(1, "Why doesnâ€™t it ship?", "Itâ€™s on its way, cafÃ© included."), ex(2, "Où est-il ?", "Voilà, c’est fait.")]
    found = [f for e in examples for f in semantic.check_example(e) if f.code == "mojibake"]
    assert [(f.example, f.message_index, f.key) for f in found] == [(1, 1, "content"), (1, 2, "content")]
    assert "'â€™' where '’' was meant" in found[0].message and "Repair garbled characters" in found[0].message
    fixed = fixes.fix_mojibake(examples)
    assert fixed.changed == [1]
    assert fixed.examples[0].record["messages"][1]["content"] == "It’s on its way, café included."
    assert fixed.examples[1] is examples[1]  # correct text is left alone
    assert examples[0].record["messages"][0]["content"] == "Why doesnâ€™t it ship?"  # the input is not mutated (undo)
    assert not [f for e in fixed.examples for f in semantic.check_example(e) if f.code == "mojibake"]


def test_correct_accents_and_other_scripts_are_not_mojibake() -> None:
    for text in ("naïve façade à Noël", "Größe – 25°C", "Москва", "日本語のテキスト", "Ça coûte 5 €", "I ❤️ it"):
        assert mojibake.problems(text) == (None, False), text


def _excel_escape(text: str) -> str:
    """What Excel writes: a literal _xHHHH_ gets its underscore escaped, control characters become _xHHHH_."""
    text = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", text)
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", text)


@given(st.lists(st.sampled_from([*"ab_x0DF5\x02\r\n", "_x000D_", "_x005F_", "é"]), max_size=30).map("".join))
def test_excel_escapes_round_trip(text: str) -> None:
    assert unescape_excel(_excel_escape(text)) == text


def _workbook(rows: list[tuple[str, str]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Questions", "Answers"])
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_escapes_are_decoded_and_control_characters_flagged() -> None:
    data = _workbook([("Line one_x000D_\nline two", "It_x0002_s fine"), ("Literal _x005F_x000D_ text", "ok then")] + [(f"q{i}", f"a{i}") for i in range(10)])
    ds = ingest.load_bytes(data, "book.xlsx", mapping={"user": "Questions", "assistant": "Answers"})
    msgs = ds.examples[0].record["messages"]
    assert msgs[0]["content"] == "Line one\r\nline two" and msgs[1]["content"] == "It\x02s fine"
    assert ds.examples[1].record["messages"][0]["content"] == "Literal _x000D_ text"
    found = [f for f in semantic.check_example(ds.examples[0]) if f.code == "control_characters"]
    assert [(f.example, f.row, f.message_index) for f in found] == [(1, 2, 2)] and "U+0002" in found[0].message
    fixed = fixes.fix_mojibake(ds.examples)
    assert fixed.examples[0].record["messages"][1]["content"] == "Its fine"
    assert fixed.examples[0].record["messages"][0]["content"] == "Line one\r\nline two"  # line breaks are text


def test_validate_page_repairs_mojibake_in_one_click_and_undoes_it(ftprep_db: Path) -> None:
    from validators import session as live
    from validators.storing import workspace as store

    rows = "".join(f"Question {i}?,Answer number {i} is here.\n" for i in range(12))
    data = ("question,answer\nWhy doesnâ€™t it ship?,Itâ€™s on its way.\n" + rows).encode("utf-8")
    ds = ingest.load_bytes(data, "garbled.csv")
    ws = live.create_workspace("garbled.csv", data, ds, {})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = ws
    at.run()
    at.switch_page("pages/validate.py").run()
    assert not at.exception
    assert any("garbled characters" in t.value for t in at.text)
    at.button(key="fix_fix_mojibake").click().run()
    assert "Repaired garbled characters in 1 example(s)" in at.success[0].value
    assert not any("garbled characters" in t.value for t in at.text)
    assert store.load(store.connect(), ws).examples[0].record["messages"][0]["content"] == "Why doesn’t it ship?"
    at.button(key="undo").click().run()
    assert store.load(store.connect(), ws).examples[0].record["messages"][0]["content"] == "Why doesnâ€™t it ship?"
