"""Reading spreadsheets and JSON layouts, mapping columns, keeping source rows."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from validators.reading import ingest
from validators.reading.readers import InputError

CSV = "Question,Answer\nHi?,Hello!\n\"Multi\nline, with comma\",\"Ça va ? 🙂\"\n"


def _load(text: str | bytes, name: str = "f.csv", **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return ingest.load_bytes(data, name, **kw)


def test_csv_detects_question_answer_and_keeps_rows_and_characters():
    ds = _load(CSV)
    assert ds.mapping["user"] == "Question" and ds.mapping["assistant"] == "Answer"
    assert [e.rows for e in ds.examples] == [(2,), (3,)]
    assert ds.examples[1].record["messages"] == [
        {"role": "user", "content": "Multi\nline, with comma"},
        {"role": "assistant", "content": "Ça va ? 🙂"},
    ]


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("cp1252", b"")],
)
def test_encodings_from_spreadsheets(encoding, prefix):
    text = "prompt,completion\nCafé crème?,Très bien – merci\nNaïve façade?,Oui\n"
    ds = _load(prefix + text.encode(encoding))
    msgs = ds.examples[0].record["messages"]
    assert msgs[0]["content"] == "Café crème?"
    assert msgs[1]["content"] == "Très bien – merci"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_sniffed(sep):
    ds = _load(f"input{sep}output\nA{sep}B\nC{sep}D\n")
    assert ds.examples[1].record["messages"][1]["content"] == "D"


def test_tsv_by_extension_and_any_case_names():
    ds = _load("HUMAN\tGPT\nhello\tworld\n", "x.tsv")
    assert ds.examples[0].record["messages"] == [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "world"}]


def test_alpaca_table_puts_input_after_the_instruction():
    ds = _load("instruction,input,output\nTranslate,Bonjour,Hello\nSay hi,,Hi\n")
    assert ds.examples[0].record["messages"] == [{"role": "user", "content": "Translate\n\nBonjour"}, {"role": "assistant", "content": "Hello"}]
    assert ds.examples[1].record["messages"][0] == {"role": "user", "content": "Say hi"}


def test_explicit_mapping_default_system_and_case_insensitive_columns():
    ds = _load("q,a,notes\nx,y,z\n", mapping={"user": "Q", "assistant": "a"}, default_system="Be brief.")
    assert ds.examples[0].record["messages"][0] == {"role": "system", "content": "Be brief."}


def test_mapping_to_a_missing_column_is_a_plain_error():
    with pytest.raises(InputError, match=r"Column 'Reply' .* not in the file\. Columns are: q, a"):
        _load("q,a\nx,y\n", mapping={"assistant": "Reply"})


def test_no_assistant_column_keeps_every_row_and_says_why():
    ds = _load("text,label\nx,y\n")  # never refused: the rows wait for the user's mapping
    assert "assistant" in ds.detection["problem"] and "--map" not in ds.detection["problem"]
    assert ds.examples[0].record is None and "text: x" in ds.examples[0].raw


def test_blank_rows_are_kept_as_examples_to_report():
    ds = _load("question,answer\na,b\n,\nc,d\n")
    assert [e.rows for e in ds.examples] == [(2,), (3,), (4,)]
    assert ds.examples[1].record is None and "empty" in ds.examples[1].problem


def test_multi_turn_grouped_by_conversation_and_ordered_by_turn():
    text = "conversation_id,turn,user,assistant\nc1,2,second?,two\nc2,1,other,x\nc1,1,first?,one\n"
    ds = _load(text)
    first = ds.examples[0]
    assert first.rows == (2, 4)
    assert [m["content"] for m in first.record["messages"]] == ["first?", "one", "second?", "two"]


def test_long_format_role_content():
    text = "conversation_id,turn,role,content\nc1,1,system,Be kind\nc1,2,user,hi\nc1,3,assistant,hello\n"
    ds = _load(text)
    assert [m["role"] for m in ds.examples[0].record["messages"]] == ["system", "user", "assistant"]


def test_xlsx_sheet_choice_and_cell_types():
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing here"])
    ws = wb.create_sheet("Data")
    ws.append(["instruction", "response"])
    ws.append(["2+2?", 4])
    ws.append([None, None])
    ws.append(["Why?", "Because"])
    buf = io.BytesIO()
    wb.save(buf)
    ds = ingest.load_bytes(buf.getvalue(), "book.xlsx", sheet="Data")
    assert [e.rows for e in ds.examples] == [(2,), (3,), (4,)]
    assert ds.examples[0].record["messages"][1]["content"] == "4"
    with pytest.raises(InputError, match="no sheet named"):
        ingest.load_bytes(buf.getvalue(), "book.xlsx", sheet="Nope")


LAYOUTS = {
    "messages": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    "prompt_completion": {"prompt": "q", "completion": "a"},
    "sharegpt": {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
    "alpaca": {"instruction": "q", "input": "", "output": "a"},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_known_jsonl_layouts_pass_through(layout):
    line = json.dumps(LAYOUTS[layout])
    ds = _load(line + "\n" + line + "\n", "x.jsonl")
    assert ds.layout == layout
    assert ds.examples[1].rows == (2,) and ds.examples[1].origin == "line"
    msgs = ds.examples[0].record["messages"]
    assert msgs[-2:] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def test_dpo_layouts():
    openai_line = {"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [{"role": "assistant", "content": "good"}], "non_preferred_output": [{"role": "assistant", "content": "bad"}]}
    trl_line = {"prompt": "q", "chosen": "good", "rejected": "bad"}
    for line in (openai_line, trl_line):
        ds = _load(json.dumps(line), "p.jsonl")
        assert ds.examples[0].kind == "dpo"
        assert ds.examples[0].record["preferred_output"][0]["content"] == "good"


def test_json_array_of_flat_objects_uses_column_mapping():
    data = json.dumps([{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": "a2"}])
    ds = _load(data, "x.json")
    assert ds.examples[1].record["messages"][1] == {"role": "assistant", "content": "a2"}
    assert ds.examples[1].rows == (2,)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"messages": [', "invalid JSON"),
        ('{"a": NaN}', "NaN"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ('{"a": "\\ud800"}', "surrogate"),
        ("[1, 2]", "list"),
        ("[" * 5000 + "]" * 5000, "nested"),
    ],
)
def test_bad_jsonl_lines_become_reportable_examples(line, reason):
    good = json.dumps(LAYOUTS["messages"])
    ds = _load(f"{good}\n{line}\n{good}\n", "x.jsonl")
    bad = ds.examples[1]
    assert bad.record is None and reason in bad.problem and bad.rows == (2,)


def test_empty_and_header_only_files():
    with pytest.raises(InputError, match="empty"):
        _load("", "x.csv")
    with pytest.raises(InputError, match="no data rows"):
        _load("question,answer\n", "x.csv")
