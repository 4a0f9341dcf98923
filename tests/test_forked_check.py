"""The large check's forked half gives exactly the answers of the one-process check.

``validators/checking/forked.py`` counts tokens and scans for personal data and control
tokens in a forked child on large data.  Here the size threshold is lowered so every file
of tests/test_same_answers.py takes the forked path, and each answer must equal the golden
answers computed before any speed work; the child's failures must fall back, not vanish.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_same_answers  # noqa: E402

from validators import catalog  # noqa: E402
from validators.checking import checks, forked  # noqa: E402
from validators.reading import ingest  # noqa: E402

GOLDEN = json.loads(test_same_answers.GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def forked_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    old = forked.MIN_EXAMPLES
    forked.MIN_EXAMPLES = 1
    try:
        return json.loads(json.dumps(test_same_answers.all_answers(tmp_path_factory.mktemp("forked"))))
    finally:
        forked.MIN_EXAMPLES = old


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_forked_check_gives_the_golden_answers(forked_answers: dict[str, Any], name: str) -> None:
    assert forked_answers[name] == GOLDEN[name]


def test_the_forked_path_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    examples = ingest.load_file(test_same_answers.files(tmp_path)["sft"]).examples
    info = catalog.model(None)
    assert checks._fork_counting(examples[:10], info) is None  # small: no fork
    monkeypatch.setattr(forked, "MIN_EXAMPLES", 1)
    wait = checks._fork_counting(examples, info)
    assert wait is not None
    got = wait()
    here = checks._count_and_scan(examples, info, workers=False)
    assert got.counts.total.tolist() == here.counts.total.tolist()
    assert [f.to_dict() for f in got.personal] == [f.to_dict() for f in here.personal]
    assert [f.to_dict() for f in got.control.findings] == [f.to_dict() for f in here.control.findings]
    assert got.control.rows == here.control.rows
    assert len(got.personal) > 40


def test_a_child_that_fails_or_dies_is_reported() -> None:
    with pytest.raises(forked.ForkError, match="ZeroDivisionError"):
        forked.start(lambda: 1 / 0)()
    with pytest.raises(forked.ForkError, match="no answer"):
        forked.start(lambda: os._exit(3))()
    assert forked.start(lambda: {"pid": os.getpid()})()["pid"] != os.getpid()


def test_no_fork_while_another_thread_runs() -> None:
    if forked.cores() < 2:
        pytest.skip("one core: never forks")
    assert forked.usable(forked.MIN_EXAMPLES)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not forked.usable(forked.MIN_EXAMPLES)
    finally:
        stop.set()
        t.join()
    assert not forked.usable(forked.MIN_EXAMPLES - 1)


def test_a_cancelled_child_is_stopped_and_reaped() -> None:
    job = forked.start(lambda: __import__("time").sleep(600))
    job.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)  # already reaped: no zombie left
    job.cancel()  # twice is harmless
    done = forked.start(lambda: 7)
    assert done() == 7
    done.cancel()  # after the answer: nothing to stop, no stray close
