"""SIGKILL in the middle of edits loses no confirmed edit and leaves a sound database.

A writer process edits a workspace in the real SQLite store (``validators.storing.workspace``, WAL,
synchronous=FULL) and prints a line before each edit ("writing") and after its call returns
("confirmed": what the page shows as "saved").  The test kills it with SIGKILL as soon as it
announces an edit, so the kill lands while a large edit is being written (or just before),
or, in some cycles, once that edit is on disk but before the writer confirmed it (the writer
holds that edit's confirmation until killed; the test sees the edit in the database first).
It restarts the writer on the same file, and after every kill checks
``PRAGMA integrity_check`` and that every confirmed edit is there.  The edit in flight at the
kill may or may not have landed; if it did, it is durable from then on and counts as
confirmed in later cycles.  Nothing waits for a fixed time: the kill follows the writer's
own announcement or the database's state.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.browser_util import wait_until
from validators.storing import workspace

ROOT = Path(__file__).parent.parent
N_EXAMPLES = 20

WRITER = r"""
import sys, json
from dataclasses import replace
from validators.storing import workspace
from validators.model import Example

db, ws_id, start, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conn = workspace.connect(db)
if ws_id == "-":
    exs = [Example(i, (i + 1,), {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a0"}]}) for i in range(1, __N__ + 1)]
    ws_id = workspace.create(conn, "crash.csv", b"q,a\n", exs)
    print("created", ws_id, flush=True)
k = start
while True:
    k += 1
    idx = (k % __N__) + 1
    ws = workspace.load(conn, ws_id)
    old = ws.examples[idx - 1]
    big = f"edit {k} " + "x" * 200_000
    new = replace(old, record={"messages": [old.record["messages"][0], {"role": "assistant", "content": big}]})
    print("writing", k, idx, flush=True)
    version = workspace.update_examples(conn, ws_id, [new], [old], f"edit {k}")
    if k == hold:
        sys.stdin.readline()  # landed but not confirmed: the test kills the writer here
    print("confirmed", k, idx, version, flush=True)
""".replace("__N__", str(N_EXAMPLES))


def start_writer(db: Path, ws_id: str, start: int, hold: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), ws_id, str(start), str(hold)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def record(line: str, ws_id: str, last_k: int, confirmed: dict[int, int], versions: list[int]) -> tuple[str, int]:
    """Note one line of the writer's output; returns the workspace id and the last confirmed edit number."""
    parts = line.split()
    if parts[0] == "created":
        return parts[1], last_k
    if parts[0] == "writing":
        return ws_id, last_k
    k, idx, version = int(parts[1]), int(parts[2]), int(parts[3])
    confirmed[idx] = k
    versions.append(version)
    return ws_id, k


def on_disk(db: Path, ws_id: str, k: int) -> int:
    """The edit number stored for the example edit ``k`` writes (a separate reader)."""
    conn = workspace.connect(db)
    try:
        ws = workspace.load(conn, ws_id)
    finally:
        conn.close()
    if ws is None:
        return -1
    return edit_number(next(e for e in ws.examples if e.index == (k % N_EXAMPLES) + 1))


def edit_number(ex: workspace.Example) -> int:
    content = ex.record["messages"][1]["content"]
    return 0 if content == "a0" else int(content.split()[1])


def test_sigkill_mid_edit_loses_no_confirmed_edit(tmp_path: Path) -> None:
    db = tmp_path / "ws.sqlite3"
    rng = random.Random(5)
    ws_id, last_k = "-", 0
    confirmed: dict[int, int] = {}  # example index -> last confirmed edit number
    versions: list[int] = []
    wal_left: list[bool] = []
    landed: list[bool] = []
    for cycle in range(6):
        want = rng.randint(3, 25)  # confirmed edits before the kill
        hold = last_k + want + 1 if cycle % 2 and ws_id != "-" else 0  # odd cycles: kill after that edit landed
        proc = start_writer(db, ws_id, last_k, hold)
        assert proc.stdout is not None
        seen = 0
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "writer died"
            if seen >= want and line.startswith("writing"):
                break  # the next (200 KB) edit is starting
            ws_id, last_k = record(line, ws_id, last_k, confirmed, versions)
            seen += line.startswith("confirmed")
        if hold:
            wait_until(lambda ws=ws_id, k=hold: on_disk(db, ws, k) == k, 120, f"edit {hold} to reach the database")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        for line in proc.stdout.read().splitlines():  # confirmations printed before the kill
            if line.strip():
                ws_id, last_k = record(line, ws_id, last_k, confirmed, versions)
        wal_left.append(Path(f"{db}-wal").exists() and Path(f"{db}-wal").stat().st_size > 0)
        in_flight = last_k + 1
        last_k = in_flight  # the restarted writer numbers its edits after the one that may have landed
        landed.append(check_store(db, ws_id, confirmed, in_flight, versions[-1]))
        assert landed[-1] or not hold
        if landed[-1]:
            confirmed[(in_flight % N_EXAMPLES) + 1] = in_flight  # on disk for good now: later cycles expect it
            versions.append(versions[-1] + 1)
    assert len(confirmed) > 5
    assert any(landed) and not all(landed), "kills both before and after an unconfirmed edit landed"
    assert any(wal_left), "the kills left a write-ahead log behind, so recovery was exercised"


def check_store(db: Path, ws_id: str, confirmed: dict[int, int], in_flight: int, last_version: int) -> bool:
    """The database is sound and holds every confirmed edit; True if the edit in flight landed."""
    raw = sqlite3.connect(str(db))
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()
    conn = workspace.connect(db)  # a restart: WAL recovery happens here
    try:
        ws = workspace.load(conn, ws_id)
        assert ws is not None and len(ws.examples) == N_EXAMPLES
        assert ws.version in (last_version, last_version + 1)
        rows = {e.index: e for e in ws.examples}
        for idx in range(1, N_EXAMPLES + 1):
            got = edit_number(rows[idx])
            expected = confirmed.get(idx, 0)
            in_flight_idx = (in_flight % N_EXAMPLES) + 1
            allowed = {expected, in_flight} if idx == in_flight_idx else {expected}
            assert got in allowed, f"example {idx}: edit {got} on disk, confirmed {expected}"
        history = conn.execute("SELECT COUNT(*) FROM history WHERE ws = ?", (ws_id,)).fetchone()[0]
        assert history == ws.version, "each edit and its undo entry commit together"
        landed = edit_number(rows[(in_flight % N_EXAMPLES) + 1]) == in_flight
        assert landed == (ws.version == last_version + 1), "the edit and the version bump commit together"
        return landed
    finally:
        conn.close()
