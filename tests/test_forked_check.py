"""The large check's forked half gives exactly the answers of the one-process check.

``validators/checking/forked.py`` counts tokens and scans for personal data and control
tokens in a forked child on large data.  Here the size threshold is lowered so every file
of tests/test_same_answers.py takes the forked path, and each answer must equal the golden
answers computed before any speed work; the child's failures must fall back, not vanish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import test_same_answers  # noqa: E402

from validators.checking import forked  # noqa: E402

GOLDEN = json.loads(test_same_answers.GOLDEN.read_text(encoding="utf-8"))


# Run in a fresh interpreter: forking is refused while another thread is alive, and other
# test modules leave the browser session's warm-up thread running in this one.
FORKED_ANSWERS = r"""
import json, sys
sys.path.insert(0, {tests!r}); sys.path.insert(0, {root!r})
from pathlib import Path
import test_same_answers
from validators.checking import forked
forked.MIN_EXAMPLES = 1
starts = []
plain_start = forked.start
forked.start = lambda work: starts.append(1) or plain_start(work)
answers = test_same_answers.all_answers(Path({folder!r}))
print(json.dumps({{"answers": answers, "forks": len(starts)}}))
"""


def _fresh(code: str, **values: str) -> Any:
    out = subprocess.run([sys.executable, "-c", code.format(tests=str(TESTS), root=str(TESTS.parent), **values)],
                         capture_output=True, text=True, check=True, cwd=TESTS.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def forked_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    got = _fresh(FORKED_ANSWERS, folder=str(tmp_path_factory.mktemp("forked")))
    assert got["forks"] == sum("check" in a for a in GOLDEN.values())  # one fork per file that reads (all hold examples)
    return got["answers"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_forked_check_gives_the_golden_answers(forked_answers: dict[str, Any], name: str) -> None:
    assert forked_answers[name] == GOLDEN[name]


CHILD_EQUALS_HERE = r"""
import json, sys
sys.path.insert(0, {tests!r}); sys.path.insert(0, {root!r})
from pathlib import Path
import test_same_answers
from validators import catalog
from validators.checking import checks, forked
from validators.reading import ingest
examples = ingest.load_file(test_same_answers.files(Path({folder!r}))["sft"]).examples
info = catalog.model(None)
small = checks._fork_counting(examples[:10], info)
forked.MIN_EXAMPLES = 1
job = checks._fork_counting(examples, info)
got = job()
here = checks._count_and_scan(examples, info, workers=False)
same = lambda a, b: [f.to_dict() for f in a] == [f.to_dict() for f in b]
print(json.dumps({{"small": small is None, "forked": job is not None, "counts": got.counts.total.tolist() == here.counts.total.tolist(),
                  "personal": same(got.personal, here.personal), "control": same(got.control.findings, here.control.findings),
                  "rows": got.control.rows == here.control.rows, "schema": same(got.schema, here.schema), "n_personal": len(got.personal)}}))
"""


def test_the_forked_path_is_taken(tmp_path: Path) -> None:
    got = _fresh(CHILD_EQUALS_HERE, folder=str(tmp_path))
    assert got.pop("n_personal") > 40
    assert got == {"small": True, "forked": True, "counts": True, "personal": True, "control": True, "rows": True, "schema": True}


def test_a_child_that_fails_or_dies_is_reported() -> None:
    with pytest.raises(forked.ForkError, match="ZeroDivisionError"):
        forked.start(lambda: 1 / 0)()
    with pytest.raises(forked.ForkError, match="no answer"):
        forked.start(lambda: os._exit(3))()
    assert forked.start(lambda: {"pid": os.getpid()})()["pid"] != os.getpid()


def test_no_fork_while_another_thread_runs() -> None:
    if forked.cores() < 2:
        pytest.skip("one core: never forks")
    if threading.active_count() == 1:
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
    job = forked.start(lambda: __import__("signal").pause())  # a child that never returns by itself
    job.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)  # already reaped: no zombie left
    job.cancel()  # twice is harmless
    done = forked.start(lambda: 7)
    assert done() == 7
    done.cancel()  # after the answer: nothing to stop, no stray close


def test_a_child_that_answered_is_reaped() -> None:
    """The answer is taken without waiting for the child's exit; it is reaped by reap()
    (also called by the next start and at exit), leaving no zombie."""
    job = forked.start(lambda: 7)
    assert job() == 7
    forked.reap()
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)
    assert not forked._exiting
