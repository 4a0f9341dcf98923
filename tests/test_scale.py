"""Out of core and Parquet (issue 13): the streaming path gives the in-memory path's
answers, byte for byte, and Parquet goes in and out without changing the data.

The generated file (tests/scale_data.py) holds exact and near duplicates, conflicting
answers, missing system prompts, schema and semantic errors, an unreadable and a blank
line, personal data, a Windows-1252 line and an example over the token limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scale_data import write
from validators import cli
from validators.reading import parquet_io
from validators.streaming import stream

ROOT = Path(__file__).resolve().parent.parent
N = 3000
MODEL = ["--model", "gpt-4.1-nano"]  # 32k-token limit: one example is over it


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("scale") / "gen.jsonl", N)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_generated_file_has_every_kind_of_finding(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["check", str(data), "--json", "--stream", *MODEL], capsys)
    found = json.loads(out)
    codes = {f["code"] for f in found["errors"] + found["warnings"]}
    assert code == 1
    assert {"exact_duplicate", "near_duplicate", "conflicting_answers", "missing_system", "wrong_type", "empty_content",
            "pii_email", "unreadable", "empty_row", "mixed_encoding", "over_token_limit", "extra_key"} <= codes
    assert found["duplicates"]["exact"] and found["duplicates"]["near"]
    assert found["source"]["encoding"] == "cp1252"


@pytest.mark.parametrize("extra", [[], ["--threshold", "0.5"]])
def test_check_json_identical(data: Path, extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code_mem, mem, _ = run_cli(["check", str(data), "--json", *MODEL, *extra], capsys)
    code_str, streamed, _ = run_cli(["check", str(data), "--json", "--stream", *MODEL, *extra], capsys)
    assert (code_mem, mem) == (code_str, streamed)


def test_check_summary_identical(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["check", str(data)], capsys) == run_cli(["check", str(data), "--stream"], capsys)


@pytest.mark.parametrize("target,options", [
    ("openai", ["--dedupe", "near", "--validation-split", "0.1", "--seed", "5"]),
    ("trl", ["--layout", "prompt-completion", "--dedupe", "exact"]),
    ("unsloth", ["--validation-split", "0.2"]),
])
def test_export_files_identical(data: Path, tmp_path: Path, target: str, options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    results = {}
    for mode in ("memory", "stream"):
        out = tmp_path / mode / "train.jsonl"
        flags = ["--stream"] if mode == "stream" else []
        code, printed, err = run_cli(["export", str(data), "--to", target, *options, "-o", str(out), *flags], capsys)
        files = sorted(p.name for p in out.parent.iterdir())
        results[mode] = (code, printed.replace(str(out.parent), "X"), err, files, {f: (out.parent / f).read_bytes() for f in files})
    assert results["memory"] == results["stream"]
    files = results["stream"][4]
    report = files["train.left-out.csv"].decode()
    exported = sum(len(b.splitlines()) for name, b in files.items() if not name.endswith(".csv"))
    assert exported + len(report.splitlines()) - 1 == N  # every input line accounted for


def test_parquet_export_identical_and_read_back_by_datasets(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    datasets = pytest.importorskip("datasets")
    jsonl = tmp_path / "plain" / "train.jsonl"
    run_cli(["export", str(data), "--to", "openai", "--dedupe", "exact", "-o", str(jsonl)], capsys)
    outs = {}
    for mode in ("memory", "stream"):
        out = tmp_path / mode / "train.parquet"
        flags = ["--stream"] if mode == "stream" else []
        run_cli(["export", str(data), "--to", "openai", "--dedupe", "exact", "-o", str(out), *flags], capsys)
        outs[mode] = out.read_bytes()
    assert outs["memory"] == outs["stream"]
    expected = [json.loads(line) for line in jsonl.read_bytes().splitlines()]
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "stream" / "train.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert list(ds) == expected


def test_parquet_typed_columns_when_regular(tmp_path: Path) -> None:
    """Regular chat lines keep Arrow's own list<struct> type; lines with an extra key on one
    message (a null-filled struct otherwise) fall back to JSON, and both read back exactly."""
    import pyarrow.parquet as pq

    datasets = pytest.importorskip("datasets")
    regular = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]} for i in range(20)]
    mixed = [*regular, {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]}]
    for name, rows in (("regular", regular), ("mixed", mixed)):
        path = tmp_path / f"{name}.parquet"
        lines = [json.dumps(r).encode() for r in rows]
        parquet_io.write_lines(lambda lines=lines: iter(lines), path, batch_rows=7)
        kind = str(pq.read_schema(path).field("messages").type)
        assert ("json" in kind) == (name == "mixed")
        ds = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
        assert list(ds) == rows


def test_parquet_input_same_answers_in_memory_and_streaming(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Parquet file of the same examples: read by ingest (in memory) and by the stream."""
    lines = [line for line in data.read_bytes().splitlines() if line.strip() and b"oops" not in line and b"Ad\xe9" not in line]
    path = tmp_path / "gen.parquet"
    parquet_io.write_lines(lambda: iter(lines), path)
    mem = run_cli(["check", str(path), "--json", *MODEL], capsys)
    streamed = run_cli(["check", str(path), "--json", "--stream", *MODEL], capsys)
    assert mem == streamed
    found = json.loads(mem[1])
    assert found["source"]["format"] == "parquet" and found["examples"] == len(lines)
    assert any("(row 12)" in f["message"] for f in found["errors"])  # Parquet rows, counted from 1


def test_parquet_table_and_prompt_completion_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 60
    pq.write_table(pa.table({"prompt": [f"Question {i}?" for i in range(n)], "completion": [f"Answer number {i}." for i in range(n)]}), tmp_path / "pc.parquet")
    pq.write_table(pa.table({"frage": [f"Question {i}?" for i in range(n)], "antwort": [f"Answer number {i}." for i in range(n)]}), tmp_path / "t.parquet")
    code, out, _ = run_cli(["check", str(tmp_path / "pc.parquet"), "--json"], capsys)
    assert json.loads(out)["source"]["layout"] == "prompt_completion" and not json.loads(out)["errors"]
    code, out, _ = run_cli(["check", str(tmp_path / "t.parquet"), "--json", "--map", "user=frage", "--map", "assistant=antwort"], capsys)
    assert json.loads(out)["source"]["layout"] == "table" and not json.loads(out)["errors"]
    assert run_cli(["check", str(tmp_path / "t.parquet"), "--json", "--stream", "--map", "user=frage", "--map", "assistant=antwort"], capsys)[1] == out


def test_streaming_chosen_by_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Above the threshold the CLI streams without being asked (the temp index shows it)."""
    path = write(tmp_path / "small.jsonl", 200)
    seen: list[str] = []
    real = stream.check
    monkeypatch.setattr(stream, "STREAM_ABOVE_BYTES", 1000)
    monkeypatch.setattr(stream, "check", lambda *a, **k: seen.append("stream") or real(*a, **k))
    run_cli(["check", str(path)], capsys)
    assert seen == ["stream"]
    code, _, err = run_cli(["check", str(ROOT / "tests" / "real_files" / "alpaca_en_llamafactory.json"), "--stream"], capsys)
    assert code == 2 and "--stream reads JSONL, Parquet, CSV or TSV" in err


def test_stream_refuses_binary_and_utf16_with_a_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "u16.jsonl").write_bytes('{"messages": []}\n'.encode("utf-16"))
    (tmp_path / "nul.jsonl").write_bytes(b'{"a": 1}\n\x00\n')
    for name, words in (("u16.jsonl", "UTF-16"), ("nul.jsonl", "NUL byte")):
        code, _, err = run_cli(["check", str(tmp_path / name), "--stream"], capsys)
        assert code == 2 and words in err and "Traceback" not in err


def _slow_asked(config: pytest.Config) -> bool:
    """Heavy tests run when asked: FTPREP_SLOW=1 (or RUN_SLOW=1), or ``-m slow``."""
    return bool(os.environ.get("FTPREP_SLOW") or os.environ.get("RUN_SLOW")) or "slow" in (config.getoption("-m") or "")


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_streaming_memory_bounded_on_1gb(suffix: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """check and export of a 1 GB JSONL or CSV file stay under 2 GB peak memory, all
    processes together (bench/bench_scale.py measures it; the file is about 750,000 examples)."""
    if not _slow_asked(request.config):
        pytest.skip("builds a 1 GB file: set FTPREP_SLOW=1 or run with -m slow")
    big = tmp_path / f"big{suffix}"
    subprocess.run([sys.executable, str(ROOT / "bench" / "bench_scale.py"), "make", str(big), "1.0"], check=True)
    assert big.stat().st_size >= 1_000_000_000
    for cmd in (["check", str(big), "--json"], ["export", str(big), "-o", str(tmp_path / "o.jsonl")]):
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_scale.py"), "peak", *cmd],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        m = json.loads(out.strip().splitlines()[-1])  # peak's figures, as JSON on its last line
        peak, code = int(m["peak_all"]), int(m["code"])
        assert code in (0, 1), out
        assert peak < 2 * 1024**3, f"{cmd[0]} peaked at {peak / 2**20:.0f} MiB"


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_message = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]), "content": _text},
                                 optional={"weight": st.sampled_from([0, 1]), "name": _text})
_row = st.fixed_dictionaries({"messages": st.lists(_message, min_size=1, max_size=4)},
                             optional={"tools": st.lists(st.fixed_dictionaries({"type": st.just("function")}), max_size=2)})


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=12), batch=st.integers(1, 5))
def test_parquet_round_trip_property(rows: list[dict], batch: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Any chat lines (optional keys on some messages, keys on some lines only) written as
    Parquet read back as the same objects; a key a line lacks reads back absent, not null."""
    path = tmp_path_factory.mktemp("rt") / "x.parquet"
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows]
    parquet_io.write_lines(lambda: iter(lines), path, batch_rows=batch)
    back = [r.value for b in parquet_io.iter_records(path) for r in b]
    assert back == rows


def test_huge_jsonl_streamed_and_a_huge_line_never_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Over the 512 MB upload limit a JSONL file is streamed, not refused; a binary one gets
    its sentence; a line longer than MAX_LINE_BYTES is reported without being held."""
    sparse = tmp_path / "huge.jsonl"
    with sparse.open("wb") as f:
        f.truncate(600 * 1024 * 1024)
    code, _, err = run_cli(["check", str(sparse)], capsys)
    assert code == 2 and "NUL byte on line 1" in err
    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 1000)
    path = write(tmp_path / "long.jsonl", 60)
    lines = path.read_bytes().splitlines()
    lines[3] = json.dumps({"messages": [{"role": "user", "content": "x" * 5000}]}).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    found = json.loads(run_cli(["check", str(path), "--json", "--stream"], capsys)[1])
    assert found["examples"] == 60
    assert any(f["row"] == 4 and "longer than" in f["message"] for f in found["errors"])


def test_streaming_chosen_by_number_of_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Many small examples are streamed though the file is small (2M two-message lines of
    200 MB took 5.7 GB read whole, 0.4 GB streamed); fewer are read whole."""
    path = write(tmp_path / "many.jsonl", 300)
    seen: list[str] = []
    real = stream.check
    monkeypatch.setattr(stream, "_COUNT_FROM_BYTES", 1)
    monkeypatch.setattr(stream, "check", lambda *a, **k: seen.append("stream") or real(*a, **k))
    monkeypatch.setattr(stream, "STREAM_ABOVE_EXAMPLES", 1000)
    run_cli(["check", str(path)], capsys)
    assert seen == []
    monkeypatch.setattr(stream, "STREAM_ABOVE_EXAMPLES", 100)
    run_cli(["check", str(path)], capsys)
    assert seen == ["stream"]
    assert stream.example_count(path, "jsonl") == path.read_bytes().count(b"\n")
