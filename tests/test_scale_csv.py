"""A large CSV/TSV file is read in chunks (validators/streaming/stream_csv.py) with the whole-file
reader's answers: the same `check --json`, the same export and left-out report byte for
byte, on every CSV/TSV of the bad-input corpus, the real public files and the samples,
read in blocks of a few hundred bytes so every quoted cell, wrapped line and lenient row
meets a block boundary somewhere.  Files only the whole-file reader can read (not UTF-8,
no header row, conversations...) fall back to it, and say so on stderr.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validators import cli
from validators.reading import readers
from validators.streaming import stream, stream_csv

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p for folder in ("tests/bad_inputs", "tests/real_files", "sample_data")
               for p in (ROOT / folder).iterdir() if p.suffix in (".csv", ".tsv"))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_csv, "BLOCK_BYTES", 300)
    monkeypatch.setattr(stream, "CHUNK_EXAMPLES", 7)


def _export(path: Path, out: Path, extra: list[str], capsys: pytest.CaptureFixture[str]) -> tuple:
    out.mkdir()
    train, report = out / "train.jsonl", out / "report.csv"
    code, text, err = run(["export", str(path), "-o", str(train), "--report", str(report), "--validation-split", "0.2",
                           "--dedupe", "near", *extra], capsys)
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    return code, text.replace(str(out), "OUT"), files


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_streamed_csv_gives_the_whole_file_answers(path: Path, tmp_path: Path, tiny_blocks: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    whole = run(["check", str(path), "--json"], capsys)
    streamed = run(["check", str(path), "--json", "--stream"], capsys)
    assert streamed[:2] == whole[:2]
    assert streamed[2] == whole[2] or "whole, not in chunks" in streamed[2]
    assert _export(path, tmp_path / "a", [], capsys) == _export(path, tmp_path / "b", ["--stream"], capsys)


def test_which_files_are_streamed(tiny_blocks: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The plain UTF-8 tables are streamed; the rest are read whole, and say why."""
    streamed = {p.name for p in FILES if "whole, not in chunks" not in run(["check", str(p), "--stream"], capsys)[2]}
    assert {"support_desk.csv", "ragged_rows.csv", "unclosed_quote.csv", "uepg_perguntas_semicolon.csv",
            "qna_maker_surface.tsv", "covid_faq_en.csv"} <= streamed
    for name, why in (("covid_faq_cp1252.csv", "not UTF-8"), ("aurora_headerless_pt.csv", "no header row"),
                      ("multi_turn.csv", "conversations")):
        path = next(p for p in FILES if p.name == name)
        assert why in run(["check", str(path), "--stream"], capsys)[2]


def test_left_out_rows_reported_with_their_row_numbers(tmp_path: Path, tiny_blocks: None,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Rows with a missing answer or a broken quote across block boundaries: the report
    names their spreadsheet rows (a quoted cell of three lines counts as one row)."""
    rows = [["question", "answer"]]
    for i in range(60):
        rows.append([f"How do I reset order {i}?", "" if i % 13 == 5 else f"Open the page.\nClick reset {i}.\nDone."])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path = tmp_path / "faq.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    code, _, files = _export(path, tmp_path / "out", ["--stream"], capsys)
    report = list(csv.DictReader(io.StringIO(files["report.csv"].decode("utf-8-sig"))))
    expected = [i + 2 for i in range(60) if i % 13 == 5]
    assert [int(r[next(k for k in r if "row" in k.lower())]) for r in report] == expected
    assert _export(path, tmp_path / "whole", [], capsys)[2] == files


def test_csv_streamed_by_number_of_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV of many tiny rows is streamed though it is small (1M rows "q,a" of 16 MB
    took 2.9 GB read whole)."""
    path = tmp_path / "tiny.csv"
    path.write_text("question,answer\n" + "".join(f"q{i}?,a{i}\n" for i in range(300)), encoding="utf-8")
    seen: list[str] = []
    real = stream.check
    monkeypatch.setattr(stream, "_COUNT_FROM_BYTES", 1)
    monkeypatch.setattr(stream, "check", lambda *a, **k: seen.append("stream") or real(*a, **k))
    monkeypatch.setattr(stream, "STREAM_ABOVE_EXAMPLES", 1000)
    run(["check", str(path)], capsys)
    assert seen == []
    monkeypatch.setattr(stream, "STREAM_ABOVE_EXAMPLES", 100)
    code, out, _ = run(["check", str(path), "--json"], capsys)
    assert seen == ["stream"] and json.loads(out)["examples"] == 300


def test_reading_choices_that_need_the_whole_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "sample_data" / "support_desk.csv"
    for flags in (["--join-lines"], ["--header", "no"], ["--encoding", "cp1252"]):
        code, _, err = run(["check", str(path), "--stream", *flags], capsys)
        assert code == 2 and "need the whole file" in err
    assert run(["check", str(path), "--engine", "ray"], capsys)[2].count("JSONL or Parquet") == 1


_cell = st.text(st.sampled_from(list('ab ,"\n?.')), max_size=12)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=1, max_size=25),
       quote=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]), block=st.integers(1, 120))
def test_chunked_reading_property(rows: list[list[str]], quote: int, block: int) -> None:
    """Any table, written properly or not (QUOTE_NONE leaves stray quotes and line breaks),
    read in blocks of any size: the same rows, row numbers and reading warnings as the
    whole-file reader, or the same refusal, or a fall-back to it."""
    table = [["question", "answer", "notes"], *rows]
    if quote == csv.QUOTE_NONE:  # written by hand: stray quotes, line breaks outside quotes
        text = "".join(",".join(r) + "\n" for r in table)
    else:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n", quoting=quote).writerows(table)
        text = buf.getvalue()
    path = Path(f"/tmp/ftprep_prop_{block}.csv")
    path.write_text(text, encoding="utf-8")
    try:
        whole: readers.Table | str = readers.read_delimited(text, path.name)
    except readers.InputError as exc:
        whole = str(exc)
    old = stream_csv.BLOCK_BYTES
    stream_csv.BLOCK_BYTES = block
    try:
        reader = stream_csv.CsvReader(str(path), "csv")
        got = [r for chunk in reader.rows() for r in chunk]
    except stream_csv.NotStreamable:
        assert isinstance(whole, str) or whole.header_guessed or len(whole.columns) == 1 or whole.paired_rows or any(
            "space comes before" in w[2] for w in whole.warnings)
        return
    except readers.InputError as exc:
        assert str(exc) == whole
        return
    finally:
        stream_csv.BLOCK_BYTES = old
        path.unlink()
    assert not isinstance(whole, str), whole
    assert (reader.columns, got) == (whole.columns, whole.rows)
    name = path.name
    expected = [(f"Row {r}: {t}.", r) for r, t in whole.notes] + [(f"{name}: {t}", r) for _, r, t in whole.warnings]
    assert [(f.message, f.row) for f in reader.read_findings()] == expected
