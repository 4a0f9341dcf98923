"""Exports never destroy the input, never leave half a result, and user mistakes get a sentence.

Everything runs the real CLI in a child process, on real files: symbolic and hard links,
a folder given as the output, a full disk (a small tmpfs when this runs as root, and a
file-size limit everywhere), Ctrl-C in the middle of writing, a closed pipe.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "support_desk.csv"  # 61 rows, some with errors


def cli(*args: str, preexec: Callable[[], None] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "validators", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          preexec_fn=preexec, env={**os.environ, "PYTHONPATH": str(ROOT)})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_refused(proc: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "unexpected problem" not in proc.stderr and "Traceback" not in proc.stderr
    for phrase in phrases:
        assert phrase in proc.stderr, proc.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.jsonl"
    lines = [json.dumps({"messages": [{"role": "user", "content": f"question {i}?"}, {"role": "assistant", "content": f"answer {i}"}]}) for i in range(12)]
    lines[3] = "{not json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------ outputs that are the input (item 3)


def test_output_that_is_the_input_is_refused(data: Path) -> None:
    before = snapshot(data.parent)
    assert_refused(cli("export", str(data), "-o", str(data)), "is the input file", "d.jsonl")
    assert snapshot(data.parent) == before


@pytest.mark.parametrize("how", ["report", "symlink", "hardlink", "relative", "validation"])
def test_every_way_of_naming_the_input_is_refused(data: Path, how: str) -> None:
    folder = data.parent
    if how == "report":
        args = ["-o", str(folder / "out.jsonl"), "--report", str(data)]
    elif how == "symlink":
        (folder / "link.jsonl").symlink_to(data)
        args = ["-o", str(folder / "link.jsonl")]
    elif how == "hardlink":
        os.link(data, folder / "hard.jsonl")
        args = ["-o", str(folder / "hard.jsonl")]
    elif how == "relative":
        args = ["-o", f"{folder.name}/../{folder.name}/./d.jsonl"]
    else:  # the validation file would be d.jsonl
        data.rename(folder / "d.validation.jsonl")
        data = folder / "d.validation.jsonl"
        args = ["-o", str(folder / "d.jsonl"), "--validation-split", "0.2"]
    before = snapshot(folder)
    assert_refused(cli("export", str(data), *args, cwd=folder.parent), "is the input file")
    assert snapshot(folder) == before


def test_outputs_that_are_each_other_are_refused(data: Path) -> None:
    folder = data.parent
    before = snapshot(folder)
    assert_refused(cli("export", str(data), "-o", str(folder / "o.jsonl"), "--report", str(folder / "o.jsonl")), "different names")
    assert_refused(cli("export", str(data), "-o", str(folder / "o.jsonl"), "--validation-split", "0.2",
                       "--report", str(folder / "o.validation.jsonl")), "different names")
    assert snapshot(folder) == before


def test_folder_as_output_gets_a_sentence(data: Path) -> None:
    (data.parent / "out").mkdir()
    assert_refused(cli("export", str(data), "-o", str(data.parent / "out")), "is a folder")


def test_missing_report_folder_is_created_with_the_report(data: Path) -> None:
    report = data.parent / "reports" / "deep" / "why.csv"
    proc = cli("export", str(data), "-o", str(data.parent / "o.jsonl"), "--report", str(report))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr  # one row has an error
    assert (data.parent / "o.jsonl").read_text().count("\n") == 11 and "4," in report.read_text()


# ------------------------------------------------------------ all or nothing (item 4)


def _previous_run(folder: Path, data: Path) -> dict[str, bytes]:
    proc = cli("export", str(data), "-o", str(folder / "o.jsonl"), "--validation-split", "0.25")
    assert proc.returncode == 1, proc.stderr
    return snapshot(folder)


def _big_input(folder: Path) -> Path:
    path = folder / "big.jsonl"
    lines = [json.dumps({"messages": [{"role": "user", "content": f"q {i} " + "w" * 300}, {"role": "assistant", "content": f"a {i} " + "v" * 300}]}) for i in range(400)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_file_size_limit_mid_export_leaves_the_previous_files(data: Path) -> None:
    """The train file exceeds the limit: EFBIG (SIGXFSZ ignored, as a shell with ``ulimit -f`` gives)."""
    folder = data.parent
    big = _big_input(folder)
    before = _previous_run(folder, data)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    proc = cli("export", str(big), "-o", str(folder / "o.jsonl"), "--validation-split", "0.25", preexec=limit)
    assert_refused(proc, "The export was not written", "larger than this system allows", "Nothing new was left")
    after = snapshot(folder)
    assert after == before  # old train, validation and report untouched, no temporary files
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture
def small_tmpfs() -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    where = Path(tempfile.mkdtemp(prefix="ftprep-full-"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True).returncode:
        where.rmdir()
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)
        where.rmdir()


def test_disk_full_leaves_nothing_new(data: Path, small_tmpfs: Path) -> None:
    big = _big_input(data.parent)  # ~250 KB of training data on a 256 KB disk
    before = _previous_run(small_tmpfs, data)
    proc = cli("export", str(big), "-o", str(small_tmpfs / "o.jsonl"), "--validation-split", "0.25")
    assert_refused(proc, "the disk is full", "Nothing new was left")
    assert snapshot(small_tmpfs) == before
    assert not [p for p in small_tmpfs.iterdir() if p.name.startswith(".")]


def test_ctrl_c_while_writing_leaves_the_previous_files(data: Path) -> None:
    """SIGINT arrives right after the first output is on disk (sent from os.fsync, the
    standard library call that ends each file): nothing is renamed into place."""
    folder = data.parent
    before = _previous_run(folder, data)
    code = (
        "import os, signal, sys\n"
        # as in a terminal: Ctrl-C handled and not blocked, whatever this test process inherited
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "real = os.fsync\n"
        "def fsync(fd):\n"
        "    real(fd)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "os.fsync = fsync\n"
        "from validators.cli import main\n"
        f"sys.exit(main(['export', {str(data)!r}, '-o', {str(folder / 'o.jsonl')!r}, '--validation-split', '0.5', '--seed', '3']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130 and "interrupted" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert snapshot(folder) == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_outputs_keep_ordinary_permissions(data: Path) -> None:
    out = data.parent / "o.jsonl"
    cli("export", str(data), "-o", str(out))
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------------------------ user mistakes get a sentence (item 12)


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as user ``nobody``: imports are warmed as root (the interpreter may live in
    root's home), then the process drops to nobody and runs ``argv``."""
    code = (
        "import contextlib, io, os, sys\n"
        "from validators.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main(['check', {str(SAMPLE)!r}, '--json'])\n"
        "os.setgid(65534); os.setuid(65534)\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can enter (pytest's own tmp folders are private to root)."""
    where = Path(tempfile.mkdtemp(prefix="ftprep-perm-"))
    where.chmod(0o777)
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_permission_denied_gets_a_sentence(shared_dir: Path, data: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the CLI as another user")
    src = shared_dir / "d.jsonl"
    shutil.copy(data, src)
    src.chmod(0o644)
    locked = shared_dir / "locked"
    locked.mkdir(mode=0o755)  # owned by root: nobody cannot write here
    secret = shared_dir / "secret.jsonl"
    shutil.copy(data, secret)
    secret.chmod(0o600)
    assert_refused(_as_nobody("check", str(secret)), "permission denied", "secret.jsonl")
    assert_refused(_as_nobody("export", str(src), "-o", str(locked / "o.jsonl")), "permission denied")
    assert list(locked.iterdir()) == []


def test_broken_pipe_exits_quietly() -> None:
    proc = subprocess.run(f"{sys.executable} -m validators check {SAMPLE} --json | head -c 10", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout == '{\n "exampl' and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("price", ["nan", "inf", "-Infinity", "-1", "abc"])
def test_prices_that_are_not_prices_are_refused(price: str) -> None:
    assert_refused(cli("check", str(SAMPLE), "--json", f"--price={price}"), "--price")


def test_a_real_price_is_used_in_valid_json() -> None:
    proc = cli("check", str(SAMPLE), "--json", "--price", "2.5")
    data = json.loads(proc.stdout)  # strict JSON: NaN or Infinity would not parse in other languages
    assert data["cost_usd"] >= 0 and "NaN" not in proc.stdout and "Infinity" not in proc.stdout
