"""Every way to be wrong in ``tests/bad_inputs`` gets a plain answer naming the place.

``MANIFEST.csv`` states, per file, the exit code of ``python -m validators check FILE
--json`` and either a phrase the stderr message must hold (exit 2) or the finding code
and source row that must be reported (exit 0/1).  Most files run in-process through
``cli.main`` (fast); a few, and the big generated inputs, run as real subprocesses under
a 2 GB address-space limit and a wall-clock bound.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from validators import cli
from validators.reading import ingest, readers

HERE = Path(__file__).parent / "bad_inputs"
ROOT = Path(__file__).parent.parent
MANIFEST = list(csv.DictReader((HERE / "MANIFEST.csv").open(encoding="utf-8")))
MEMORY_LIMIT = 2 * 1024**3
SECONDS = 20.0  # CPU seconds (cpu_now), so the bound holds on a busy machine; a hang is caught by the timeouts
DECODED_FIRST_USER = {
    "utf16_no_bom.csv": "How do I reset password number 1?",
    "utf16be_no_bom.tsv": "How do I reset password number 1?",
    "shift_jis.csv": "パスワードを変更するには0?",
}


def cpu_now() -> float:
    """CPU seconds used so far by this process and its waited-for children.  The bounds of
    these tests are on CPU, not on the clock: on a shared machine the clock also counts the
    other processes' turns, while a quadratic step shows in CPU whatever the load."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_inprocess(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, float]:
    start = cpu_now()
    rc = cli.main(["check", str(path), "--json"])
    elapsed = cpu_now() - start
    out, err = capsys.readouterr()
    return rc, out, err, elapsed


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_subprocess(path: Path, timeout: float = 60) -> tuple[int, str, str, float]:
    """The real CLI in a child process with a hard memory ceiling; a hang fails the test
    (timeout); the time returned is the child's CPU seconds."""
    start = cpu_now()
    proc = subprocess.run(
        [sys.executable, "-m", "validators", "check", str(path), "--json"],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, preexec_fn=_limit_memory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return proc.returncode, proc.stdout, proc.stderr, cpu_now() - start


def assert_outcome(entry: dict[str, str], rc: int, out: str, err: str) -> None:
    assert "Traceback" not in err and "Traceback" not in out
    assert rc == int(entry["exit"]), f"{entry['file']}: exit {rc}, stderr: {err[:500]}"
    if rc == 2:
        assert err.startswith("error: "), err
        assert entry["expect"].lower() in err.lower(), err
        assert entry["place"] in err, f"place {entry['place']!r} missing: {err}"
        assert err.count("\n") == 1, "one plain sentence, not a dump"
        return
    data = json.loads(out)
    if entry["expect"] == "ok":
        assert data["examples"] >= 10 and not data["errors"]
        return
    hits = [f for f in data["errors"] + data["warnings"] if f["code"] == entry["expect"] and f["row"] == int(entry["place"])]
    assert hits, f"{entry['file']}: no {entry['expect']} at row {entry['place']}: {[(f['code'], f['row']) for f in data['errors'] + data['warnings']]}"
    assert any(_names_place(f["message"], int(entry["place"])) for f in hits), hits


def _names_place(message: str, row: int) -> bool:
    return any(f"{unit} {row}" in message for unit in ("row", "rows", "line", "item", "Row", "Line", "line(s)"))


def test_corpus_is_big_and_varied() -> None:
    names = [e["file"] for e in MANIFEST]
    assert len(names) >= 40 and len(set(names)) == len(names)
    on_disk = {p.name for p in HERE.iterdir() if p.suffix not in (".py", ".csv") or p.name not in ("MANIFEST.csv",)}
    on_disk -= {"make_corpus.py", "MANIFEST.csv", "__pycache__"}
    assert on_disk == set(names), "every corpus file has a manifest line and vice versa"


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_bad_input_answered(entry: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err, elapsed = run_inprocess(HERE / entry["file"], capsys)
    assert elapsed < SECONDS
    assert_outcome(entry, rc, out, err)


@pytest.mark.parametrize("name", sorted(DECODED_FIRST_USER))
def test_odd_encodings_read_exactly(name: str) -> None:
    ds = ingest.load_file(HERE / name)
    assert ds.examples[0].record["messages"][0]["content"] == DECODED_FIRST_USER[name]


def test_mixed_encoding_keeps_good_lines_exact() -> None:
    ds = ingest.load_file(HERE / "mixed_encoding.csv")
    users = [e.record["messages"][0]["content"] for e in ds.examples]
    assert "Où est le café?" in users and "Crème brûlée?" in users


def test_readers_stay_usable_after_every_bad_file(capsys: pytest.CaptureFixture[str]) -> None:
    """State leaking from one upload (recursion limit, csv limits, open workbooks) must not
    break the next: run the whole corpus in one process, then read a good file."""
    limit = sys.getrecursionlimit()
    for entry in MANIFEST:
        cli.main(["check", str(HERE / entry["file"]), "--json"])
        capsys.readouterr()
    assert sys.getrecursionlimit() == limit
    good = b"question,answer\n" + b"".join(f"q{i}?,answer number {i}\n".encode() for i in range(12))
    ds = ingest.load_bytes(good, "good.csv")
    assert len(ds.examples) == 12 and ds.examples[3].record["messages"][-1]["content"] == "answer number 3"


@pytest.mark.parametrize("name", ["zip_bomb_ratio.xlsx", "zip_bomb_declared.xlsx", "deep_nesting.json", "deep_nesting.jsonl", "random_binary.csv", "nan.jsonl"])
def test_subprocess_under_memory_limit(name: str) -> None:
    entry = next(e for e in MANIFEST if e["file"] == name)
    rc, out, err, elapsed = run_subprocess(HERE / name)
    assert elapsed < SECONDS
    assert_outcome(entry, rc, out, err)


# ------------------------------------------------------------ big inputs, made at run time


def test_fifty_mb_single_line(tmp_path: Path) -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    rng = random.Random(0)
    big = " ".join(rng.choices(words, k=9_000_000))
    line = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": big}]})
    path = tmp_path / "one_line.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    assert path.stat().st_size > 50_000_000
    rc, out, err, elapsed = run_subprocess(path)
    assert "Traceback" not in err and rc == 1 and elapsed < 40
    data = json.loads(out)
    assert any(f["code"] == "over_token_limit" and f["row"] == 1 for f in data["warnings"])


def test_fifty_mb_line_without_newlines_csv(tmp_path: Path) -> None:
    """A 50 MB 'CSV' that is one unterminated quoted cell: refused with the row, fast."""
    path = tmp_path / "one_cell.csv"
    path.write_bytes(b'question,answer\n"' + b"x" * 50_000_000)
    rc, _out, err, elapsed = run_subprocess(path)
    assert rc == 2 and "row 2" in err and "Traceback" not in err and elapsed < SECONDS


@pytest.mark.slow
def test_million_tiny_rows(tmp_path: Path) -> None:
    """A million one-word rows: answered (or refused in plain words) in bounded time and memory."""
    path = tmp_path / "million.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("question,answer\n")
        f.writelines(f"q{i},a{i}\n" for i in range(1_000_000))
    rc, out, err, elapsed = run_subprocess(path, timeout=180)
    assert "Traceback" not in err and elapsed < 150
    if rc == 2:
        assert err.startswith("error: ") and "memory" in err
    else:
        assert rc in (0, 1) and json.loads(out)["examples"] == 1_000_000


def test_file_over_the_upload_limit_cli(tmp_path: Path) -> None:
    """A sparse 513 MB file: refused from its size alone, before any byte is read."""
    path = tmp_path / "huge.csv"  # a JSONL or Parquet file this large is streamed instead (tests/test_scale.py)
    with path.open("wb") as f:
        f.truncate(readers.MAX_FILE_BYTES + 1024 * 1024)
    rc, _out, err, elapsed = run_subprocess(path)
    assert rc == 2 and "limit is 512 MB" in err and "Split" in err and elapsed < SECONDS


def test_bytes_over_a_lower_limit_ingest() -> None:
    data = b"question,answer\n" + b"q,a\n" * 1000
    with pytest.raises(readers.InputError, match=r"4,016 bytes; the limit is 1,000 bytes"):
        ingest.load_bytes(data, "big.csv", max_bytes=1000)
    assert len(ingest.load_bytes(data, "big.csv", max_bytes=len(data)).examples) == 1000


def test_streamlit_config_limits() -> None:
    """The browser upload limit matches the 512 MB API limit on purpose, and XSRF stays on."""
    import tomllib

    conf: dict[str, Any] = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert conf["server"]["maxUploadSize"] == 512
    assert conf["server"].get("enableXsrfProtection", True) is True
    assert readers.MAX_FILE_BYTES == 512 * 1024 * 1024
