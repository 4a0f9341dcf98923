"""Real-world CSV quirks (validators/reading/csv_quirks.py through readers.read_delimited).

Lenient quoting is checked two ways: examples taken from real files (a cell typed as
``"Title", "Other title"``, a space before an opening quote, an unescaped quote inside a
quoted cell), and properties: whatever Python's csv writer writes reads back identically,
a file the strict reader accepts reads exactly as the strict reader reads it, and the
lenient reader never loses a letter of the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validators.reading import csv_quirks, ingest
from validators.reading.readers import InputError, Table, clean_header, read_bytes, read_delimited

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "real_files"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def codes(table: Table) -> list[tuple[str, int | None]]:
    return [(code, row) for code, row, _ in table.warnings]


# ------------------------------------------------------------------ lenient quoting, by example


def test_quoted_titles_inside_a_cell_are_kept_as_written_and_reported() -> None:
    """uepg_perguntas_semicolon.csv, row 4: a strict reader refuses the whole file."""
    text = 'pergunta;referencia\nQ1?;A1\nQ2?;"Teorias da Justiça", "Metodologia".\nQ3?;A3\n'
    t = read_delimited(text, "f.csv")
    assert [r for _, r in t.rows] == [["Q1?", "A1"], ["Q2?", '"Teorias da Justiça", "Metodologia".'], ["Q3?", "A3"]]
    assert [no for no, _ in t.rows] == [2, 3, 4]
    assert codes(t) == [("csv_quotes", 3)]
    assert "row 3" in t.warnings[0][2] and "Excel" in t.warnings[0][2]


def test_space_before_an_opening_quote_keeps_the_quoted_commas_in_one_cell() -> None:
    """portafolio_faq_es.csv: pandas needs skipinitialspace; every such row of the file is read alike."""
    text = 'q,a\nQ0?,plain\nQ1?, "Soy yo, alumna, y más."\nQ2?, "Sin coma."\n'
    t = read_delimited(text, "f.csv")
    assert [r for _, r in t.rows] == [["Q0?", "plain"], ["Q1?", "Soy yo, alumna, y más."], ["Q2?", "Sin coma."]]
    assert codes(t) == [("csv_quotes", 3), ("csv_quotes", 4)]
    assert t.notes == []  # no 'extra cells were not read'


def test_space_before_a_quote_is_left_alone_when_no_row_needs_it() -> None:
    text = 'q,a\nQ1?, "quoted"\n'
    t = read_delimited(text, "f.csv")
    assert t.rows == [(2, ["Q1?", ' "quoted"'])] and t.warnings == []


def test_unescaped_quote_inside_a_quoted_cell() -> None:
    text = 'q,a\n"He said "hi" to me",ans\n"ok","fine"\n'
    t = read_delimited(text, "f.csv")
    assert [r for _, r in t.rows] == [['He said "hi" to me', "ans"], ["ok", "fine"]]
    assert codes(t) == [("csv_quotes", 2)]


def test_quoted_phrases_in_the_last_cell_are_kept_as_written() -> None:
    t = read_delimited('q;a\nQ?;"Relações privadas", "Meio ambiente"\nQ2?;"A2"\n', "f.csv")
    assert t.rows == [(2, ["Q?", '"Relações privadas", "Meio ambiente"']), (3, ["Q2?", "A2"])]


def test_a_bad_row_does_not_swallow_the_rows_after_it() -> None:
    """tests/bad_inputs/unclosed_quote.csv: the quote pairs with one on the next line in strict CSV."""
    text = 'q,a\nQ1?,"A1"\n"Unclosed here,and never ends\nQ3?,"A3, with comma"\nQ4?,"multi\nline"\n'
    t = read_delimited(text, "f.csv")
    assert t.rows == [(2, ["Q1?", "A1"]), (3, ['"Unclosed here', "and never ends"]),
                      (4, ["Q3?", "A3, with comma"]), (5, ["Q4?", "multi\nline"])]
    assert codes(t) == [("csv_quotes", 3)]


def test_a_quote_running_to_the_end_of_the_file_is_refused_with_its_row() -> None:
    with pytest.raises(InputError, match=r"row 3 \(line 3 of the file\).*never closed"):
        read_delimited('q,a\nQ1?,A1\nQ2?,"open\nand on\n', "f.csv")


def test_header_with_bad_quotes_is_read_and_named() -> None:
    t = read_delimited('"question" x,answer\nQ?,A\n', "f.csv")
    assert t.columns == ['"question" x', "answer"] and codes(t) == [("csv_quotes", 1)]
    assert "the header" in t.warnings[0][2]


def test_crlf_and_semicolons_with_bad_quotes() -> None:
    text = 'q;a\r\nQ1?;"x" y\r\nQ2?;"two\r\nlines"\r\n'
    t = read_delimited(text, "f.csv")
    assert t.rows == [(2, ["Q1?", '"x" y']), (3, ["Q2?", "two\r\nlines"])]


# ------------------------------------------------------------------ lenient quoting, properties

cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=15)
mixed_cell = st.one_of(cell, st.sampled_from(['"', '""', ' "x"', '"a", "b"', " ", "\r\n", "\n", "a;b", "a,b", "\t"]))
table_rows = st.lists(st.lists(mixed_cell, min_size=1, max_size=4), min_size=1, max_size=8)


def written(rows: list[list[str]], delimiter: str) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


@SETTINGS
@given(table_rows, st.sampled_from([",", ";", "\t", "|"]))
def test_anything_pythons_csv_writer_writes_reads_back_identically(rows: list[list[str]], delimiter: str) -> None:
    reading = csv_quirks.read_records(written(rows, delimiter), delimiter)
    assert reading.records == rows and reading.lenient == []


@SETTINGS
@given(table_rows, st.sampled_from([",", ";", "\t"]))
def test_a_written_table_reads_back_through_read_delimited(rows: list[list[str]], delimiter: str) -> None:
    header = ["question", "answer", "notes", "id"][: max(map(len, rows))]
    text = written([header, *rows], delimiter)
    t = read_delimited(text, "f.csv", delimiter, header=True, pair_rows=False)
    assert t.columns == clean_header(header) and [r for _, r in t.rows] == rows
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    assert t.row_lines == [reader.line_num for _ in reader]  # the file line each row ends on, as the csv module counts
    assert {code for code, _, _ in t.warnings} <= {"wrapped_lines"}  # advice about a one-cell row; nothing changed


raw_text = st.text(st.sampled_from(['"', ",", " ", "\n", "\r", "a", "b", "?"]), max_size=40)


def strict(text: str) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None


@settings(max_examples=400, deadline=None)
@given(raw_text)
def test_strictly_valid_csv_reads_the_same_strictly_and_leniently(text: str) -> None:
    expected = strict(text)
    if expected is None or not expected or any(len(r) > len(expected[0]) for r in expected):
        return  # invalid, or a row wider than the header (where a space before a quote may be read as Excel does)
    assert csv_quirks.read_records(text, ",").records == expected


@settings(max_examples=400, deadline=None)
@given(raw_text)
def test_lenient_reading_never_loses_a_letter_and_always_ends(text: str) -> None:
    try:
        reading = csv_quirks.read_records(text, ",")
    except csv_quirks.UnclosedQuote:
        assert strict(text) is None
        return
    letters = Counter(ch for ch in text if ch in "ab?")
    assert Counter(ch for rec in reading.records for c in rec for ch in c if ch in "ab?") == letters
    assert len(reading.records) == len(reading.lines) and reading.lines == sorted(set(reading.lines))
    assert all(1 <= no <= len(reading.records) for no, _ in reading.lenient)


# ------------------------------------------------------------------ header or data?


AURORA = 'Vocês atendem em quais cidades?,"Atendemos em Itapema, Itajaí e Florianópolis."\nQuais imóveis?,Coberturas.\n'


def test_a_first_row_that_reads_like_data_is_row_1() -> None:
    t = read_delimited(AURORA, "f.csv")
    assert t.header_guessed and t.columns == ["Column 1", "Column 2"]
    assert t.rows[0] == (1, ["Vocês atendem em quais cidades?", "Atendemos em Itapema, Itajaí e Florianópolis."])
    assert t.rows[1][0] == 2
    assert codes(t) == [("no_header", 1)]
    assert "kept as row 1" in t.warnings[0][2] and "header" in t.warnings[0][2]


def test_the_reader_can_be_told_the_first_row_is_a_header_or_not() -> None:
    told = read_delimited(AURORA, "f.csv", header=True)
    assert not told.header_guessed and told.columns[0] == "Vocês atendem em quais cidades?" and len(told.rows) == 1
    forced = read_delimited("question,answer\nQ?,A\n", "f.csv", header=False)
    assert forced.header_guessed and forced.rows[0] == (1, ["question", "answer"]) and "no_header" not in dict(codes(forced))


@pytest.mark.parametrize("header", [
    "question,answer", "Questions,Answers", "pergunta;resposta", "instruction,input,output", "问题,答案",
    "id,question,answer", "faq_pregunta,faq_respuesta", "dialogue_id,turn_idx,participant,utterance",
    "پرسش,پاسخ", "Frage,Antwort (optional)", "No.,Question,Answer",
])
def test_real_headers_stay_headers(header: str) -> None:
    delim = ";" if ";" in header else ","
    width = header.count(delim) + 1
    body = delim.join(["1"] + ["How do I reset my password, please?"] * (width - 1))
    t = read_delimited(f"{header}\n{body}\n{body}\n", "f.csv")
    assert not t.header_guessed and t.rows[0][0] == 2 and t.warnings == []


def test_every_real_file_with_a_header_keeps_it_and_the_headerless_one_does_not() -> None:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["files"]
    for e in manifest:
        if e["format"] not in ("csv", "tsv"):
            continue
        table, _ = read_bytes((CORPUS / e["file"]).read_bytes(), e["file"])
        assert isinstance(table, Table)
        assert table.header_guessed == bool(e.get("headerless") or e.get("layout") == "alternating"), e["file"]


# ------------------------------------------------------------------ alternating rows

SQUAD = '"Which team won?"\r\n"Denver Broncos"\r\n"Where was it?"\r\n"Santa Clara, California"\r\n"Who sang?"\r\n"Coldplay"\r\n'


def test_alternating_question_and_answer_rows_are_paired() -> None:
    t = read_delimited(SQUAD, "f.csv")
    assert t.paired_rows and t.columns == ["Question", "Answer"]
    assert t.rows == [(1, ["Which team won?", "Denver Broncos"]), (3, ["Where was it?", "Santa Clara, California"]),
                      (5, ["Who sang?", "Coldplay"])]
    assert codes(t) == [("alternating_rows", 1)] and "rows 1 and 2" in t.warnings[0][2]
    assert t.row_lines == [2, 4, 6]  # each pair ends on its answer's line


def test_pairing_can_be_turned_off_or_forced() -> None:
    off = read_delimited(SQUAD, "f.csv", pair_rows=False)
    assert not off.paired_rows and len(off.rows) == 6 and off.columns == ["Column 1"]
    forced = read_delimited("text\nhello\nworld\nodd one\n", "f.csv", pair_rows=True)
    assert forced.rows == [(2, ["hello", "world"]), (4, ["odd one", ""])]


@pytest.mark.parametrize("text", [
    "Q1?\nQ2?\nQ3?\nQ4?\n",                              # all questions: a list, not pairs
    "Which team won?\nDenver\nWhere?\n\nWho?\nColdplay\n",  # a blank row breaks the rhythm
    "Which?\nA\n",                                       # one pair is not enough to be sure
    "q,a\nWhich?,A\nWhere?,B\nWho?,C\nWhy?,D\n",        # two columns
])
def test_pairing_only_when_clear(text: str) -> None:
    assert not read_delimited(text, "f.csv").paired_rows


def test_squad_file_becomes_30_examples_with_every_row_accounted_for() -> None:
    ds = ingest.load_bytes((CORPUS / "squad_alternating_rows.csv").read_bytes(), "squad_alternating_rows.csv")
    assert len(ds.examples) == 30
    first = ds.examples[0]
    assert first.rows == (1,) and [m["content"] for m in first.record["messages"]] == [
        "Which NFL team represented the AFC at Super Bowl 50?", "Denver Broncos"]
    assert [e.rows[0] for e in ds.examples] == list(range(1, 61, 2))


# ------------------------------------------------------------------ lines wrapped outside quotes

WRAPPED = "pergunta;resposta\nQ1?;Para os alunos, o termo\ninicial de contagem\nfinal.\nQ2?;A2\nQ3 sem resposta?\nQ4?;A4 ends.\nA note.\n"


def test_lines_cut_off_by_a_line_break_outside_quotes_are_reported_and_kept() -> None:
    t = read_delimited(WRAPPED, "f.csv")
    assert [no for no, _ in t.rows] == [2, 3, 4, 5, 6, 7, 8]  # every line is still a row (as pandas and Excel read it)
    # not row 6 (a question without its answer), not row 8 (the text above it ends a sentence)
    assert codes(t) == [("wrapped_lines", 3), ("wrapped_lines", 4)]
    assert "row 2's last cell" in t.warnings[0][2] and "semicolon" in t.warnings[0][2]


def test_wrapped_lines_are_joined_when_asked() -> None:
    t = read_delimited(WRAPPED, "f.csv", join_lines=True)
    assert t.rows == [(2, ["Q1?", "Para os alunos, o termo\ninicial de contagem\nfinal."]), (5, ["Q2?", "A2"]),
                      (6, ["Q3 sem resposta?"]), (7, ["Q4?", "A4 ends."]), (8, ["A note."])]
    assert codes(t) == [("wrapped_lines", 2)] and "rows 3 and 4" in t.warnings[0][2]


def test_uepg_file_reads_as_57_rows_or_37_joined_examples() -> None:
    data = (CORPUS / "uepg_perguntas_semicolon.csv").read_bytes()
    plain = ingest.load_bytes(data, "u.csv", mapping={"user": "pergunta", "assistant": "referencia"})
    joined = ingest.load_bytes(data, "u.csv", mapping={"user": "pergunta", "assistant": "referencia"}, join_lines=True)
    assert len(plain.examples) == 57 and len(joined.examples) == 37
    assert joined.examples[9].rows == (11,)
    table, _ = read_bytes(data, "u.csv", join_lines=True)
    assert table.row_lines[8:10] == [10, 15]  # row 11 ends on line 15, its last wrapped line
    assert joined.examples[9].record["messages"][1]["content"].endswith("certidão de matrícula gerada pelo referido sistema.")
