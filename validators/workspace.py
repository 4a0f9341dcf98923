"""Workspaces: the upload, its options, the current examples and the undo history, on disk.

One SQLite file (``FTPREP_DB``, default ``./data/workspaces.sqlite3``) in WAL mode holds
every workspace, keyed by an unguessable id (``secrets.token_urlsafe(16)``) that the app
carries in the URL.  Every edit is committed in its own transaction before the caller
returns, so a page that confirms an edit has it on disk: a reload, a new tab or a server
restart brings it back.  No API key is ever passed to, or stored by, this module.

Plain Python (no Streamlit), so the tests and the CLI can use it directly.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Example

DEFAULT_DB = "./data/workspaces.sqlite3"
ID_BYTES = 16

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    options TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
-- The upload and how it was read live apart from the small, often-updated workspace row:
-- SQLite rewrites a whole row on UPDATE, and bumping the version must not copy 100 MB.
CREATE TABLE IF NOT EXISTS upload (
    ws TEXT PRIMARY KEY REFERENCES workspace(id) ON DELETE CASCADE,
    data BLOB NOT NULL,
    meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS example (
    ws TEXT NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (ws, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ws TEXT NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    summary TEXT NOT NULL,
    changed INTEGER NOT NULL,
    before TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_ws ON history(ws, seq);
"""

# Options a workspace keeps; anything else passed in is ignored (so a key can never slip in).
OPTION_KEYS = ("sheet", "mapping", "default_system", "model", "epochs", "price", "threshold", "encoding")


@dataclass
class Workspace:
    """A loaded workspace: what was uploaded, how it is read, and its examples now."""

    id: str
    name: str
    data: bytes
    options: dict[str, Any]
    meta: dict[str, Any]
    version: int
    examples: list[Example] = field(default_factory=list)


def db_path() -> Path:
    """The database file, from ``FTPREP_DB``; its folder is created on first use."""
    path = Path(os.environ.get("FTPREP_DB") or DEFAULT_DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def connect(path: str | Path | None = None) -> sqlite3.Connection:
    """Open the store in WAL mode with synchronous=FULL: a confirmed edit survives a crash."""
    conn = sqlite3.connect(str(path or db_path()), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(SCHEMA)
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT: the change is on disk when the ``with`` block ends."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def new_id() -> str:
    """22 URL-safe characters from 16 random bytes: not guessable, not enumerable."""
    return secrets.token_urlsafe(ID_BYTES)


def example_to_dict(ex: Example) -> dict[str, Any]:
    return {
        "index": ex.index, "rows": list(ex.rows), "record": ex.record, "kind": ex.kind, "raw": ex.raw,
        "problem": ex.problem, "dropped": ex.dropped, "origin": ex.origin,
    }


def example_from_dict(d: dict[str, Any]) -> Example:
    return Example(
        index=d["index"], rows=tuple(d["rows"]), record=d["record"], kind=d.get("kind", "sft"), raw=d.get("raw"),
        problem=d.get("problem"), dropped=d.get("dropped"), origin=d.get("origin", "row"),
    )


def _dump(ex: Example) -> str:
    return json.dumps(example_to_dict(ex), ensure_ascii=False, allow_nan=False)


def _clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (options or {}).items() if k in OPTION_KEYS}


def create(
    conn: sqlite3.Connection, name: str, data: bytes, examples: list[Example],
    options: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
) -> str:
    """Store a new workspace (upload bytes, options, examples) and return its id."""
    ws_id = new_id()
    now = time.time()
    with transaction(conn):
        conn.execute(
            "INSERT INTO workspace (id, name, options, version, created, updated) VALUES (?, ?, ?, 0, ?, ?)",
            (ws_id, name, json.dumps(_clean_options(options)), now, now),
        )
        conn.execute("INSERT INTO upload (ws, data, meta) VALUES (?, ?, ?)", (ws_id, data, json.dumps(meta or {})))
        conn.executemany("INSERT INTO example (ws, idx, body) VALUES (?, ?, ?)", ((ws_id, e.index, _dump(e)) for e in examples))
    return ws_id


def load(conn: sqlite3.Connection, ws_id: str, with_examples: bool = True, with_data: bool = True) -> Workspace | None:
    """The workspace with this id, or ``None`` when there is none (deleted, mistyped)."""
    row = conn.execute(
        f"SELECT w.id, w.name, {'u.data' if with_data else 'NULL'}, w.options, u.meta, w.version "
        "FROM workspace w JOIN upload u ON u.ws = w.id WHERE w.id = ?", (ws_id,)
    ).fetchone()
    if row is None:
        return None
    ws = Workspace(row[0], row[1], bytes(row[2] or b""), json.loads(row[3]), json.loads(row[4]), row[5])
    if with_examples:
        rows = conn.execute("SELECT body FROM example WHERE ws = ? ORDER BY idx", (ws_id,))
        ws.examples = [example_from_dict(json.loads(b)) for (b,) in rows]
    return ws


def version(conn: sqlite3.Connection, ws_id: str) -> int | None:
    row = conn.execute("SELECT version FROM workspace WHERE id = ?", (ws_id,)).fetchone()
    return None if row is None else row[0]


def list_workspaces(conn: sqlite3.Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    """Name, size and age of the given ids only: the caller passes the ids its own browser
    session created, so nobody can enumerate other people's workspaces."""
    out = []
    for ws_id in ids:
        row = conn.execute(
            "SELECT id, name, updated, (SELECT COUNT(*) FROM example WHERE ws = id) FROM workspace WHERE id = ?", (ws_id,)
        ).fetchone()
        if row:
            out.append({"id": row[0], "name": row[1], "updated": row[2], "examples": row[3]})
    return out


def delete(conn: sqlite3.Connection, ws_id: str) -> bool:
    """Remove the workspace, its examples and its history; True when something was deleted."""
    with transaction(conn):
        conn.execute("DELETE FROM history WHERE ws = ?", (ws_id,))
        conn.execute("DELETE FROM example WHERE ws = ?", (ws_id,))
        conn.execute("DELETE FROM upload WHERE ws = ?", (ws_id,))
        cur = conn.execute("DELETE FROM workspace WHERE id = ?", (ws_id,))
    return cur.rowcount > 0


def _bump(conn: sqlite3.Connection, ws_id: str) -> int:
    conn.execute("UPDATE workspace SET version = version + 1, updated = ? WHERE id = ?", (time.time(), ws_id))
    return conn.execute("SELECT version FROM workspace WHERE id = ?", (ws_id,)).fetchone()[0]


def update_examples(
    conn: sqlite3.Connection, ws_id: str, changed: list[Example], before: list[Example], label: str, summary: str = "",
) -> int:
    """Write the changed examples and push their previous versions on the undo stack, in one
    transaction.  Returns the new workspace version."""
    with transaction(conn):
        conn.executemany("UPDATE example SET body = ? WHERE ws = ? AND idx = ?", ((_dump(e), ws_id, e.index) for e in changed))
        _push(conn, ws_id, label, summary or label, before)
        return _bump(conn, ws_id)


def _push(conn: sqlite3.Connection, ws_id: str, label: str, summary: str, before: list[Example]) -> None:
    conn.execute(
        "INSERT INTO history (ws, label, summary, changed, before, at) VALUES (?, ?, ?, ?, ?, ?)",
        (ws_id, label, summary, len(before), json.dumps([example_to_dict(e) for e in before], ensure_ascii=False), time.time()),
    )


def undo(conn: sqlite3.Connection, ws_id: str) -> tuple[str, list[Example]] | None:
    """Put back the examples the last change replaced; returns (label, restored examples),
    or ``None`` when there is nothing to undo."""
    with transaction(conn):
        row = conn.execute("SELECT seq, label, before FROM history WHERE ws = ? ORDER BY seq DESC LIMIT 1", (ws_id,)).fetchone()
        if row is None:
            return None
        restored = [example_from_dict(d) for d in json.loads(row[2])]
        conn.executemany("UPDATE example SET body = ? WHERE ws = ? AND idx = ?", ((_dump(e), ws_id, e.index) for e in restored))
        conn.execute("DELETE FROM history WHERE seq = ?", (row[0],))
        _bump(conn, ws_id)
    return row[1], restored


def history(conn: sqlite3.Connection, ws_id: str) -> list[dict[str, Any]]:
    """Every change still applied, oldest first (for the validation report)."""
    rows = conn.execute("SELECT seq, label, summary, changed, at FROM history WHERE ws = ? ORDER BY seq", (ws_id,))
    return [{"step": s, "label": la, "summary": su, "examples_changed": c, "at": at} for s, la, su, c, at in rows]


def set_options(conn: sqlite3.Connection, ws_id: str, **options: Any) -> dict[str, Any]:
    """Merge options (model, epochs, price, threshold, …) into the workspace and bump its version."""
    with transaction(conn):
        row = conn.execute("SELECT options FROM workspace WHERE id = ?", (ws_id,)).fetchone()
        if row is None:
            raise KeyError(ws_id)
        merged = {**json.loads(row[0]), **_clean_options(options)}
        conn.execute("UPDATE workspace SET options = ? WHERE id = ?", (json.dumps(merged), ws_id))
        _bump(conn, ws_id)
    return merged


def replace_examples(
    conn: sqlite3.Connection, ws_id: str, examples: list[Example], options: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> int:
    """Re-read with a new mapping: all examples replaced, history cleared (it described the old ones)."""
    with transaction(conn):
        conn.execute("DELETE FROM example WHERE ws = ?", (ws_id,))
        conn.execute("DELETE FROM history WHERE ws = ?", (ws_id,))
        conn.executemany("INSERT INTO example (ws, idx, body) VALUES (?, ?, ?)", ((ws_id, e.index, _dump(e)) for e in examples))
        if options is not None:
            conn.execute("UPDATE workspace SET options = ? WHERE id = ?", (json.dumps(_clean_options(options)), ws_id))
        if meta is not None:
            conn.execute("UPDATE upload SET meta = ? WHERE ws = ?", (json.dumps(meta), ws_id))
        return _bump(conn, ws_id)
