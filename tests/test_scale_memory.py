"""Out of core (issue 13): a streamed check and export hold no number per example in
memory, so their peak does not grow with the file; their temporary files go away, on
errors too.

The growth test runs ``python -m validators`` on two generated files, one four times the
other, and compares the peak resident size of each run (``ru_maxrss`` of the waited-for
process, no timing).  The per-example arrays the check used to hold (token counts, counted
flags, source rows: 25 bytes an example, twice that while joined, plus the export's masks)
grew it by ~50 MiB per GB of file; what still grows (the duplicate groups, a few bytes per
duplicate) is far below the bound.  Two budgets fill as a file grows, up to a fixed size:
SQLite's page cache and in-memory sorts (64 MiB each, reached from ~1 GB of file) and a
batch of near-duplicate texts (stream.CONFIRM_BATCH pairs).  The test sets SQLite's budget to
8 MiB so that both files fill both, and what is left is what would grow with any file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.browser_util import wait_until
from tests.scale_data import write
from validators.streaming import stream

ROOT = Path(__file__).resolve().parent.parent
SMALL_GB, FACTOR = 0.06, 4
GROWTH_BOUND_MIB = 8  # this code grows < 1 MiB here; main before issue 13's fix grew 17 (check) and 19 (export)


def _make(path: Path, gb: float) -> int:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_scale.py"), "make", str(path), str(gb)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return int(out.stdout.strip())


def _peak_mib(args: list[str], tmp: Path) -> float:
    """Peak resident size of ``python -m validators ARGS`` (its own process; it starts none)."""
    env = {**os.environ, "TMPDIR": str(tmp), "FTPREP_STREAM_CACHE_MIB": "8"}
    proc = subprocess.Popen([sys.executable, "-m", "validators", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode in (0, 1), err.decode(errors="replace")
    return usage.ru_maxrss / 1024  # KiB on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    sizes = {"small": SMALL_GB, "large": SMALL_GB * FACTOR}
    peaks: dict[str, dict[str, float]] = {}
    for name, gb in sizes.items():
        path = tmp_path / f"{name}.jsonl"
        n = _make(path, gb)
        peaks[name] = {
            "check": _peak_mib(["check", str(path), "--stream", "--json"], temp),
            "export": _peak_mib(["export", str(path), "--stream", "--dedupe", "near", "-o", str(tmp_path / name / "train.jsonl")], temp),
        }
        peaks[name]["examples"] = n
        path.unlink()
    print(json.dumps(peaks))
    assert peaks["large"]["examples"] > 3.5 * peaks["small"]["examples"]
    for cmd in ("check", "export"):
        growth = peaks["large"][cmd] - peaks["small"][cmd]
        assert growth < GROWTH_BOUND_MIB, f"{cmd}: {json.dumps(peaks)}"
    assert list(temp.iterdir()) == []  # every run removed its index folder


def _big_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("ftprep-stream-*")}


def test_temporary_folder_removed_when_the_check_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index folder (SQLite file and per-example columns) exists while the check runs
    and is gone after an error in the middle of the file and after an interruption."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    path = write(tmp_path / "gen.jsonl", 5000)
    seen: list[set[str]] = []

    def look(_: int) -> None:
        folders = list(Path(tempfile.gettempdir()).glob("ftprep-stream-*"))
        seen.append({p.name for f in folders for p in f.iterdir()})
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stream.check(path, "jsonl", progress=look)
    assert {"index.sqlite3", "total.bin", "counted.bin", "rows.bin", "assistant.bin"} <= seen[0]
    assert _big_folders() == set()

    lines = path.read_bytes().split(b"\n")
    lines[4500] = b'{"messages": "\x00"}'  # a NUL byte far past the head: the reader stops there
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(Exception, match="NUL byte on line 4501"):
        stream.check(path, "jsonl")
    assert _big_folders() == set()


def test_temporary_folder_removed_when_the_export_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """An export that cannot write its output leaves no index folder and no partial file."""
    from validators import cli

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    path = write(tmp_path / "gen.jsonl", 500)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    code = cli.main(["export", str(path), "--stream", "-o", str(blocker / "train.jsonl")])
    assert code != 0
    assert _big_folders() == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.jsonl", "out", "t"]


def test_rows_and_counts_read_back_from_disk(tmp_path: Path) -> None:
    """The columns hold what was appended, chunk after chunk, and the report's figures
    equal numpy's on the whole arrays (the quantiles included)."""
    import numpy as np

    from validators.counting import tokens
    from validators.streaming.stream_columns import Columns, summarise

    rng = np.random.default_rng(5)
    cols = Columns(tmp_path)
    parts = []
    for size in (1, 7, 3000, 0, 250):
        part = (rng.integers(0, 5000, size), rng.integers(0, 900, size), rng.random(size) < 0.9, rng.integers(1, 10**6, size))
        cols.append(*part)
        parts.append(part)
    total, assistant, counted, rows = (np.concatenate(c) for c in zip(*parts))
    s = summarise(cols, 4000)
    live = total[counted]
    assert s.n == total.size and s.counted == live.size
    assert s.stats() == tokens.stats(live)
    assert (s.total, s.assistant, s.billing, s.over_limit, s.row_sum) == (
        int(live.sum()), int(assistant[counted].sum()), int(np.minimum(live, 4000).sum()), int((live > 4000).sum()), int(rows.sum()))
    assert [cols.row_of(i) for i in (1, 2, 3008, total.size)] == [int(rows[0]), int(rows[1]), int(rows[3007]), int(rows[-1])]
    assert np.array_equal(cols.read("counted", 5, 3005), counted[5:3005])
    cols.close()


@pytest.mark.skipif(sys.platform != "linux", reason="signals as on Linux")
@pytest.mark.parametrize("command", ["check", "export"])
def test_temporary_files_removed_when_the_run_is_terminated(command: str, tmp_path: Path) -> None:
    """SIGTERM in the middle of a streamed run (once its first chunk is on disk) ends it
    through its clean-up: no index folder, no partial export left behind."""
    import signal

    temp = tmp_path / "temp"
    temp.mkdir()
    path = tmp_path / "gen.jsonl"
    _make(path, 0.03)
    args = ["check", str(path), "--stream", "--json"] if command == "check" else ["export", str(path), "--stream", "-o", str(tmp_path / "out" / "train.jsonl")]
    proc = subprocess.Popen([sys.executable, "-m", "validators", *args], cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def written() -> bool:
            try:
                return any(f.stat().st_size for f in temp.glob("ftprep-stream-*/total.bin"))
            except FileNotFoundError:  # the run ended and removed its folder meanwhile
                return False

        wait_until(lambda: written() or proc.poll() is not None, 300, "the run's first chunk on disk")
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        proc.kill()
    assert list(temp.iterdir()) == []
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
